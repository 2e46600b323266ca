//! Taking one [`Sample`] of the host and, optionally, one process.

use std::time::{Duration, Instant};

use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Pid, ProcessRefreshKind,
    ProcessesToUpdate, System,
};

use crate::error::AgentError;
use crate::procfs;
use crate::sample::{HostSample, MountUsage, ProcessSample, Sample};

/// Process that the sampler follows besides the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessTarget {
    /// Host figures only.
    None,
    /// The process that runs the sampler (an agent inside a service).
    Current,
    /// Another process, by PID.
    Pid(u32),
}

/// Reads host and process figures from `sysinfo` and `/proc`.
///
/// CPU percentages are computed by the kernel's accounting between two
/// refreshes, so each sample covers the time since the previous one (or since
/// [`Sampler::new`] for the first). Call [`Sampler::sample`] at a steady
/// interval of at least [`Sampler::MINIMUM_INTERVAL`].
#[derive(Debug)]
pub struct Sampler {
    system: System,
    disks: Disks,
    pid: Option<Pid>,
    started: Instant,
}

impl Sampler {
    /// The shortest interval between samples that gives meaningful CPU figures
    /// (`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`).
    pub const MINIMUM_INTERVAL: Duration = sysinfo::MINIMUM_CPU_UPDATE_INTERVAL;

    /// Creates a sampler and takes the baseline reading that the first sample's
    /// CPU figures are measured from.
    ///
    /// # Errors
    /// [`AgentError::ProcessNotFound`] when the target process does not exist,
    /// [`AgentError::System`] when `sysinfo` cannot read this platform.
    pub fn new(target: ProcessTarget) -> Result<Self, AgentError> {
        let pid = match target {
            ProcessTarget::None => None,
            ProcessTarget::Current => Some(sysinfo::get_current_pid().map_err(AgentError::System)?),
            ProcessTarget::Pid(pid) => Some(Pid::from_u32(pid)),
        };

        let mut sampler = Self {
            system: System::new()?,
            disks: Disks::new()?,
            pid,
            started: Instant::now(),
        };
        sampler.refresh();

        if let Some(pid) = pid
            && sampler.system.process(pid).is_none()
        {
            return Err(AgentError::ProcessNotFound { pid: pid.as_u32() });
        }
        Ok(sampler)
    }

    /// Takes one sample.
    ///
    /// # Errors
    /// [`AgentError::ProcessNotFound`] when the followed process has exited,
    /// [`AgentError::Proc`] or [`AgentError::ProcFormat`] when a `/proc` file
    /// cannot be read or parsed.
    pub fn sample(&mut self) -> Result<Sample, AgentError> {
        let cpu_before_s = thread_cpu_time_s();

        self.refresh();
        let elapsed_s = self.started.elapsed().as_secs_f64();
        let process = self.read_process()?;
        let host = self.read_host()?;
        let disks = procfs::read_disk_counters()?;
        let mounts = self.read_mounts();

        Ok(Sample {
            elapsed_s,
            process,
            host,
            disks,
            mounts,
            sampler_cpu_s: (thread_cpu_time_s() - cpu_before_s).max(0.0),
        })
    }

    fn refresh(&mut self) {
        self.system
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        if let Some(pid) = self.pid {
            self.system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                true,
                ProcessRefreshKind::nothing()
                    .with_cpu()
                    .with_memory()
                    .with_disk_usage(),
            );
        }
        self.disks
            .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
    }

    fn read_process(&self) -> Result<Option<ProcessSample>, AgentError> {
        let Some(pid) = self.pid else {
            return Ok(None);
        };
        let process = self
            .system
            .process(pid)
            .ok_or(AgentError::ProcessNotFound { pid: pid.as_u32() })?;
        let counters = procfs::read_process_counters(pid.as_u32())?;
        let disk_usage = process.disk_usage();

        Ok(Some(ProcessSample {
            pid: pid.as_u32(),
            cpu_percent: f64::from(process.cpu_usage()),
            rss_bytes: process.memory(),
            virtual_bytes: process.virtual_memory(),
            disk_read_bytes_total: disk_usage.total_read_bytes,
            disk_written_bytes_total: disk_usage.total_written_bytes,
            minor_faults_total: counters.minor_faults_total,
            major_faults_total: counters.major_faults_total,
            threads: counters.threads,
        }))
    }

    fn read_host(&self) -> Result<HostSample, AgentError> {
        let load = System::load_average()?;
        let kernel = procfs::read_kernel_counters()?;
        let total = self.system.total_memory();

        Ok(HostSample {
            cpu_percent: f64::from(self.system.global_cpu_usage()),
            per_core_cpu_percent: self
                .system
                .cpus()
                .iter()
                .map(|cpu| f64::from(cpu.usage()))
                .collect(),
            load_average_1m: load.one,
            load_average_5m: load.five,
            load_average_15m: load.fifteen,
            memory_total_bytes: total,
            memory_used_bytes: total.saturating_sub(self.system.available_memory()),
            context_switches_total: kernel.context_switches_total,
            interrupts_total: kernel.interrupts_total,
        })
    }

    fn read_mounts(&self) -> Vec<MountUsage> {
        self.disks
            .iter()
            .map(|disk| MountUsage {
                mount_point: disk.mount_point().display().to_string(),
                file_system: disk.file_system().to_string_lossy().into_owned(),
                total_bytes: disk.total_space(),
                available_bytes: disk.available_space(),
            })
            .collect()
    }
}

/// CPU time (user + system) consumed so far by the calling thread, in seconds.
fn thread_cpu_time_s() -> f64 {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through a valid, exclusive pointer.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    if status != 0 {
        return 0.0;
    }
    time.tv_sec as f64 + time.tv_nsec as f64 * 1e-9
}
