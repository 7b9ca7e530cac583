//! An opened wgpu device and its queue, with the error plumbing that turns every wgpu failure (validation, out of
//! memory, lost device, failed maps and polls) into a one-line [`Error::Gpu`] of kind `Device`: an
//! uncaptured-error handler and a device-lost callback record the first asynchronous error, allocations and
//! pipeline builds run inside error scopes, and poll and map results are checked. After one failure every call
//! fails rather than panicking.

use std::sync::{Arc, Mutex};

use crate::error::{one_line, Error, Result};

/// The first error wgpu reported asynchronously (uncaptured validation error, lost device); sticky.
type ErrorSlot = Arc<Mutex<Option<String>>>;

fn record(slot: &ErrorSlot, msg: String) {
    let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
    if s.is_none() {
        *s = Some(one_line(&msg));
    }
}

/// The device, its queue and limits, and the first asynchronous error it reported.
pub(crate) struct Runtime {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) limits: wgpu::Limits,
    /// The device has `TIMESTAMP_QUERY`: passes can be timed on the GPU.
    pub(crate) timestamps: bool,
    errors: ErrorSlot,
}

impl Runtime {
    /// Wraps an opened device. Installs the handlers that record asynchronous errors.
    pub(crate) fn new(device: wgpu::Device, queue: wgpu::Queue) -> Runtime {
        let errors: ErrorSlot = Arc::default();
        let slot = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| record(&slot, format!("wgpu error: {e}"))));
        let slot = errors.clone();
        device
            .set_device_lost_callback(move |reason, msg| record(&slot, format!("GPU device lost ({reason:?}): {msg}")));
        let limits = device.limits();
        let timestamps = device.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        Runtime { device, queue, limits, timestamps, errors }
    }

    /// A pair of timestamp queries (a pass's beginning and end) and the 16-byte buffer they resolve into, where the
    /// device has `TIMESTAMP_QUERY`; `None` otherwise.
    pub(crate) fn timestamp_pair(&self, label: &str) -> Result<Option<(wgpu::QuerySet, wgpu::Buffer)>> {
        if !self.timestamps {
            return Ok(None);
        }
        let set = self.scoped(&format!("creating the {label} timestamp queries"), || {
            self.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some(label),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            })
        })?;
        let resolve = self.buffer(label, 16, wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC)?;
        Ok(Some((set, resolve)))
    }

    /// Milliseconds between two resolved timestamps; `None` when they are out of order.
    pub(crate) fn timestamp_ms(&self, begin: u64, end: u64) -> Option<f64> {
        let period_ns = f64::from(self.queue.get_timestamp_period());
        end.checked_sub(begin).map(|ticks| ticks as f64 * period_ns * 1e-6)
    }

    /// Frees the upload staging ring (two buffers of up to 64 MiB of host-visible memory); the next upload makes
    /// The first asynchronous error wgpu reported, if any: once the device has failed, every call fails.
    pub(crate) fn check(&self) -> Result<()> {
        match &*self.errors.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(msg) => Err(Error::gpu(msg.as_str())),
            None => Ok(()),
        }
    }

    /// Runs `f` inside error scopes and turns an out-of-memory or validation error into `Error::Gpu`.
    pub(crate) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(val.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = o {
            return Err(Error::gpu(one_line(&format!("out of GPU memory: {what}: {e}"))));
        }
        if let Some(e) = v {
            return Err(Error::gpu(one_line(&format!("{what} failed: {e}"))));
        }
        self.check()?;
        Ok(out)
    }

    /// Creates a buffer, reporting out-of-memory as `Error::Gpu`.
    pub(crate) fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> Result<wgpu::Buffer> {
        let size = size.max(16).div_ceil(wgpu::COPY_BUFFER_ALIGNMENT) * wgpu::COPY_BUFFER_ALIGNMENT;
        self.scoped(&format!("allocating {label} ({size} bytes)"), || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        })
    }

    /// Submits `cmd` and waits for it to finish.
    pub(crate) fn submit_wait(&self, cmd: wgpu::CommandBuffer) -> Result<()> {
        let idx = self.queue.submit([cmd]);
        let polled = self.device.poll(wgpu::PollType::Wait { submission_index: Some(idx), timeout: None });
        // A recorded error (lost device, validation) explains a failed poll better than the poll does.
        self.check()?;
        polled.map(|_| ()).map_err(|e| match e {
            wgpu::PollError::WrongSubmissionIndex(..) => {
                Error::gpu("the GPU did not accept the submitted work (the device was lost or destroyed)")
            }
            e => Error::gpu(one_line(&format!("waiting for the GPU failed: {e}"))),
        })
    }

    /// Submits `cmd` without waiting; returns its index (for [`Runtime::map_after`] and [`Runtime::wait`]).
    pub(crate) fn submit(&self, cmd: wgpu::CommandBuffer) -> wgpu::SubmissionIndex {
        self.queue.submit([cmd])
    }

    /// Waits until the submission `idx` has finished.
    pub(crate) fn wait(&self, idx: wgpu::SubmissionIndex) -> Result<()> {
        let polled = self.device.poll(wgpu::PollType::Wait { submission_index: Some(idx), timeout: None });
        self.check()?;
        polled.map(|_| ()).map_err(|e| Error::gpu(one_line(&format!("waiting for the GPU failed: {e}"))))
    }

    /// Maps `size` bytes of `buf` (from offset 0) for `mode`, waiting until the map is done.
    pub(crate) fn map(&self, buf: &wgpu::Buffer, size: u64, mode: wgpu::MapMode) -> Result<()> {
        self.map_after(buf, size, mode, None)
    }

    /// Like [`Runtime::map`], but waits only for the submission `after` (the last one that used `buf`), not for
    /// everything in flight, so work submitted later (a copy out of another staging buffer) keeps running. With
    /// `after = None` an idle buffer is mapped at once if one non-blocking poll resolves it, else after all work.
    pub(crate) fn map_after(
        &self,
        buf: &wgpu::Buffer,
        size: u64,
        mode: wgpu::MapMode,
        after: Option<wgpu::SubmissionIndex>,
    ) -> Result<()> {
        let done: Arc<Mutex<Option<std::result::Result<(), wgpu::BufferAsyncError>>>> = Arc::default();
        let d = done.clone();
        buf.slice(0..size).map_async(mode, move |r| *d.lock().unwrap_or_else(|p| p.into_inner()) = Some(r));
        let polled = match after {
            Some(idx) => self.device.poll(wgpu::PollType::Wait { submission_index: Some(idx), timeout: None }),
            None => match self.device.poll(wgpu::PollType::Poll) {
                Ok(_) if done.lock().unwrap_or_else(|p| p.into_inner()).is_some() => Ok(wgpu::PollStatus::Poll),
                _ => self.device.poll(wgpu::PollType::wait_indefinitely()),
            },
        };
        self.check()?;
        polled.map_err(|e| Error::gpu(one_line(&format!("waiting for a buffer map failed: {e}"))))?;
        let r = done.lock().unwrap_or_else(|p| p.into_inner()).take();
        match r {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(Error::gpu(one_line(&format!("mapping a buffer failed: {e}")))),
            None => Err(Error::gpu("mapping a buffer did not complete")),
        }
    }
}
