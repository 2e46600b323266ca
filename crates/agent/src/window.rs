//! The samples of one measurement window, bounded in number.

use std::collections::VecDeque;

use crate::error::AgentError;
use crate::sample::Sample;

/// Samples of one window, oldest first.
///
/// When full, each new sample pushes the oldest out, so a window left open
/// longer than `capacity × interval` describes only its most recent part;
/// [`Window::dropped`] counts what was pushed out.
#[derive(Debug, Clone)]
pub struct Window {
    samples: VecDeque<Sample>,
    capacity: usize,
    dropped: u64,
}

impl Window {
    /// Default capacity: one hour of samples at one per second.
    pub const DEFAULT_CAPACITY: usize = 3600;

    /// Creates an empty window that keeps at most `capacity` samples.
    ///
    /// # Errors
    /// [`AgentError::EmptyWindow`] when `capacity` is 0.
    pub fn new(capacity: usize) -> Result<Self, AgentError> {
        if capacity == 0 {
            return Err(AgentError::EmptyWindow);
        }
        Ok(Self {
            samples: VecDeque::with_capacity(capacity.min(Self::DEFAULT_CAPACITY)),
            capacity,
            dropped: 0,
        })
    }

    /// Adds a sample, pushing out the oldest one when the window is full.
    pub fn push(&mut self, sample: Sample) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
            self.dropped += 1;
        }
        self.samples.push_back(sample);
    }

    /// Empties the window and resets the dropped count.
    pub fn clear(&mut self) {
        self.samples.clear();
        self.dropped = 0;
    }

    /// Returns a copy of the samples, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.iter().cloned().collect()
    }

    /// Returns the number of samples in the window.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Returns whether the window contains no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Returns the number of samples pushed out since the window was created or cleared.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
