//! Per-thread scratch kept between calls: fresh buffers would pay their
//! first-touch page faults (~3 µs per 4 KiB page here) on every call and
//! every piece of work.

use std::any::Any;
use std::cell::RefCell;

/// Scratch up to this many bytes stays with its thread between calls.
const KEEP_BYTES: usize = 16 << 20;

thread_local! {
    /// One kept scratch per type.
    static KEPT: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// This thread's kept scratch of type `S`, or a new one.
pub(super) fn take<S: Default + 'static>() -> S {
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        match kept.iter().position(|b| b.is::<S>()) {
            Some(i) => *kept.swap_remove(i).downcast::<S>().expect("checked by is"),
            None => S::default(),
        }
    })
}

/// Keeps `scratch` (holding `bytes`) for this thread's next `take`, unless
/// it is large.
pub(super) fn give_back<S: 'static>(scratch: S, bytes: usize) {
    if bytes <= KEEP_BYTES {
        KEPT.with(|kept| kept.borrow_mut().push(Box::new(scratch)));
    }
}

/// Bytes a vector's capacity holds.
pub(super) fn capacity_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * size_of::<T>()
}
