//! Injected I/O failures, for tests of what a full disk or a failing device leaves behind.
//!
//! With the cargo feature `failpoints`, `inject` arms one step of [`super::commit`] (`create`,
//! `write`, `sync`, `rename`, `dirsync`) to fail with an error of the given kind when it is
//! reached for the `(after + 1)`-th time; the plan is process-global and fires once. Without the
//! feature every check is a no-op the compiler removes.

#[cfg(feature = "failpoints")]
mod plan {
    use std::sync::Mutex;

    pub(super) static PLAN: Mutex<Option<(String, u32, std::io::ErrorKind)>> = Mutex::new(None);
}

/// Arms `step` to fail with `kind` after `after` successful passes (feature `failpoints`).
#[cfg(feature = "failpoints")]
pub fn inject(step: &str, after: u32, kind: std::io::ErrorKind) {
    *plan::PLAN.lock().unwrap_or_else(|e| e.into_inner()) = Some((step.to_string(), after, kind));
}

/// Disarms any injected failure; returns whether one was still armed (feature `failpoints`).
#[cfg(feature = "failpoints")]
pub fn clear() -> bool {
    plan::PLAN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .is_some()
}

/// Fails if `step` is armed and due.
#[cfg(feature = "failpoints")]
pub(crate) fn check(step: &str) -> std::io::Result<()> {
    let mut plan = plan::PLAN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((s, after, kind)) = plan.as_mut() {
        if s == step {
            if *after == 0 {
                let kind = *kind;
                *plan = None;
                return Err(std::io::Error::new(
                    kind,
                    format!("injected failure at step {step}"),
                ));
            }
            *after -= 1;
        }
    }
    Ok(())
}

/// Fails if `step` is armed and due (never, without the `failpoints` feature).
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub(crate) fn check(_step: &str) -> std::io::Result<()> {
    Ok(())
}
