//! The benchmark's test file: created in the chosen directory, removed on drop.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::config::RANDOM_BLOCK_BYTES;
use crate::error::BenchError;

/// A test file that is deleted when dropped, on success, error or cancellation.
#[derive(Debug)]
pub struct TestFile {
    path: PathBuf,
}

impl TestFile {
    /// Creates a new, empty file in `dir` with a name unique to this process.
    ///
    /// # Errors
    /// [`BenchError::Io`] when the file cannot be created (including when one
    /// of the same name exists).
    pub fn create(dir: &Path) -> Result<(Self, File), BenchError> {
        let path = dir.join(format!(".queuelab-io-bench-{}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| io_error("create", &path, source))?;
        Ok((Self { path }, file))
    }

    /// Returns the path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file for reading and writing, with `O_DIRECT` when `direct`.
    ///
    /// # Errors
    /// [`BenchError::Io`]. With `direct`, `EINVAL` means that the file system
    /// does not support `O_DIRECT` (tmpfs, for one).
    pub fn open(&self, direct: bool) -> Result<File, BenchError> {
        let mut options = OpenOptions::new();
        options.read(true).write(true);
        if direct {
            options.custom_flags(libc::O_DIRECT);
        }
        options
            .open(&self.path)
            .map_err(|source| io_error("open", &self.path, source))
    }
}

impl Drop for TestFile {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), %error, "failed to remove the test file");
        }
    }
}

/// A zeroed buffer whose start is aligned to 4096 bytes, as `O_DIRECT` needs.
#[derive(Debug)]
pub struct AlignedBuffer {
    storage: Vec<u8>,
    offset: usize,
    len: usize,
}

impl AlignedBuffer {
    /// Allocates `len` bytes aligned to [`RANDOM_BLOCK_BYTES`].
    pub fn new(len: usize) -> Self {
        let storage = vec![0u8; len + RANDOM_BLOCK_BYTES];
        let offset = storage.as_ptr().align_offset(RANDOM_BLOCK_BYTES);
        Self {
            storage,
            offset,
            len,
        }
    }

    /// Returns the aligned bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.offset..self.offset + self.len]
    }

    /// Returns the aligned bytes for writing.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.offset..self.offset + self.len]
    }
}

/// Bytes available to an unprivileged user on the file system of `dir` (`statvfs`).
///
/// # Errors
/// [`BenchError::DirectoryNotFound`] when `dir` is not a directory,
/// [`BenchError::Io`] when `statvfs` fails.
pub fn free_space_bytes(dir: &Path) -> Result<u64, BenchError> {
    use std::os::unix::ffi::OsStrExt;

    if !dir.is_dir() {
        return Err(BenchError::DirectoryNotFound {
            dir: dir.to_owned(),
        });
    }
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(|_| {
        io_error(
            "statvfs",
            dir,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains a NUL byte"),
        )
    })?;

    // SAFETY: `statvfs` is plain old data, so all-zero bytes are a valid value.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is NUL-terminated and `stats` is a valid, exclusive out-pointer.
    let status = unsafe { libc::statvfs(c_path.as_ptr(), &mut stats) };
    if status != 0 {
        return Err(io_error("statvfs", dir, std::io::Error::last_os_error()));
    }
    Ok(stats.f_bavail * stats.f_frsize)
}

/// `f_type` of tmpfs and ramfs in `statfs`, from the kernel's `include/uapi/linux/magic.h`.
const MEMORY_FILE_SYSTEM_MAGICS: [i64; 2] = [0x0102_1994, 0x8584_58f6];

/// Returns whether `dir` is on a file system kept in memory (tmpfs or ramfs),
/// where even `O_DIRECT` I/O measures memory rather than a device.
///
/// # Errors
/// [`BenchError::Io`] when `statfs` fails.
pub fn is_memory_backed(dir: &Path) -> Result<bool, BenchError> {
    use std::os::unix::ffi::OsStrExt;

    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(|_| {
        io_error(
            "statfs",
            dir,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains a NUL byte"),
        )
    })?;

    // SAFETY: `statfs` is plain old data, so all-zero bytes are a valid value.
    let mut stats: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is NUL-terminated and `stats` is a valid, exclusive out-pointer.
    let status = unsafe { libc::statfs(c_path.as_ptr(), &mut stats) };
    if status != 0 {
        return Err(io_error("statfs", dir, std::io::Error::last_os_error()));
    }
    #[allow(clippy::unnecessary_cast, reason = "f_type is i32 on some targets")]
    let file_system_type = stats.f_type as i64;
    Ok(MEMORY_FILE_SYSTEM_MAGICS.contains(&file_system_type))
}

pub(crate) fn io_error(operation: &'static str, path: &Path, source: std::io::Error) -> BenchError {
    BenchError::Io {
        operation,
        path: path.to_owned(),
        source,
    }
}
