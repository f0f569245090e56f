//! The signed-in user's event stream (`/api/events`, see `server::events`): every change
//! they may see bumps [`LiveChanges`], which the lists watch to reload. The browser's
//! EventSource reconnects by itself after a drop and sends the last id it saw, so the
//! server replays what was missed. Told to reload (what was missed is gone), the stream
//! starts again from now and the lists reload once; they also reload when the browser
//! comes back online.

use leptos::prelude::*;

/// How many changes this browser has heard of; the lists reload when it moves.
#[derive(Clone, Copy)]
pub struct LiveChanges(pub RwSignal<u64>);

impl LiveChanges {
    #[cfg(feature = "hydrate")]
    fn heard(&self) {
        // After sign-out the page's signals are gone; nothing is left to reload.
        let _ = self.0.try_update(|n| *n += 1);
    }
}

/// Provides [`LiveChanges`] to the signed-in pages and, in the browser, opens the stream.
pub fn provide_live_changes() {
    let changes = LiveChanges(RwSignal::new(0));
    provide_context(changes);
    #[cfg(feature = "hydrate")]
    {
        let stream = std::rc::Rc::new(std::cell::RefCell::new(None));
        open(changes, stream.clone());
        // A list reloaded while the network was down shows its error until the next
        // change; coming back online is one.
        let online = window_event_listener(leptos::ev::online, move |_| changes.heard());
        let stream = send_wrapper::SendWrapper::new(stream);
        on_cleanup(move || {
            online.remove();
            if let Some(s) = stream.borrow_mut().take() {
                s.close();
            }
        });
    }
}

/// How long a stream the server refused waits before it opens again.
#[cfg(feature = "hydrate")]
const RETRY_AFTER_REFUSAL: std::time::Duration = std::time::Duration::from_secs(30);

#[cfg(feature = "hydrate")]
type Current = std::rc::Rc<std::cell::RefCell<Option<web_sys::EventSource>>>;

#[cfg(feature = "hydrate")]
fn open(changes: LiveChanges, current: Current) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Ok(source) = web_sys::EventSource::new("/api/events") else {
        return;
    };
    let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| changes.heard());
    let again = current.clone();
    let on_reload = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
        // Reconnecting by itself would send the same stale id: start afresh.
        if let Some(s) = again.borrow_mut().take() {
            s.close();
        }
        changes.heard();
        open(changes, again.clone());
    });
    // A refused reconnection (the server down, or answering an error) makes the browser
    // give up for good: try again from now in a while, and reload the lists then.
    let again = current.clone();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        let closed = again
            .borrow()
            .as_ref()
            .is_some_and(|s| s.ready_state() == web_sys::EventSource::CLOSED);
        if closed {
            let again = again.clone();
            set_timeout(
                move || {
                    let still_closed = again
                        .borrow()
                        .as_ref()
                        .is_some_and(|s| s.ready_state() == web_sys::EventSource::CLOSED);
                    if still_closed {
                        changes.heard();
                        open(changes, again.clone());
                    }
                },
                RETRY_AFTER_REFUSAL,
            );
        }
    });
    let _ = source.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("reload", on_reload.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    // The listeners live as long as the page: a stream replaced after "reload" keeps
    // three small closures that are never called again.
    on_change.forget();
    on_reload.forget();
    on_error.forget();
    *current.borrow_mut() = Some(source);
}

/// Runs `reload` shortly after changes are heard, once for a burst of them; the first
/// run (when the list mounts) is skipped.
pub fn on_live_changes(reload: impl Fn() + Clone + Send + Sync + 'static) {
    let Some(changes) = use_context::<LiveChanges>() else {
        return;
    };
    #[cfg(feature = "hydrate")]
    {
        let waiting = StoredValue::new(false);
        Effect::new(move |mounted: Option<()>| {
            changes.0.track();
            if mounted.is_none() || waiting.get_value() {
                return;
            }
            waiting.set_value(true);
            let reload = reload.clone();
            set_timeout(
                move || {
                    // The list may have gone (another page) while this waited.
                    if waiting.is_disposed() {
                        return;
                    }
                    waiting.set_value(false);
                    reload();
                },
                std::time::Duration::from_millis(250),
            );
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (changes, reload);
}
