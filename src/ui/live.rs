//! The signed-in user's event stream (`/api/events`, see `server::events`): every change
//! they may see bumps [`LiveChanges`], which the lists watch to reload. The browser's
//! EventSource reconnects by itself after a drop and sends the last id it saw, so the
//! server replays what was missed. Told to reload (what was missed is gone), the stream
//! starts again from now and the lists reload once; they also reload when the browser
//! comes back online.

use std::collections::HashMap;

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use crate::domain::conversation::NO_CLIENT;

/// What this browser has heard of: every change (the lists reload when it moves) and,
/// for each client a mounted screen follows, that client's changes.
#[derive(Clone, Copy)]
pub struct LiveChanges {
    all: RwSignal<u64>,
    /// Per followed client ("No registrados" is [`crate::domain::conversation::NO_CLIENT`]): how many screens
    /// follow it, and how many of its changes were heard.
    followed: RwSignal<HashMap<i64, (usize, u64)>>,
}

impl LiveChanges {
    /// A change to `client`, or to anything (`None`: the stream restarted, or the
    /// browser came back online, and what was missed is unknown).
    #[cfg(feature = "hydrate")]
    fn heard(&self, client: Option<i64>) {
        // After sign-out the page's signals are gone; nothing is left to reload.
        let _ = self.all.try_update(|n| *n += 1);
        let _ = self.followed.try_update(|followed| match client {
            Some(id) => {
                if let Some((_, n)) = followed.get_mut(&id) {
                    *n += 1;
                }
            }
            None => followed.values_mut().for_each(|(_, n)| *n += 1),
        });
    }
}

/// Provides [`LiveChanges`] to the signed-in pages and, in the browser, opens the stream.
pub fn provide_live_changes() {
    let changes = LiveChanges {
        all: RwSignal::new(0),
        followed: RwSignal::new(HashMap::new()),
    };
    provide_context(changes);
    #[cfg(feature = "hydrate")]
    {
        let stream = std::rc::Rc::new(std::cell::RefCell::new(None));
        open(changes, stream.clone());
        // A list reloaded while the network was down shows its error until the next
        // change; coming back online is one.
        let online = window_event_listener(leptos::ev::online, move |_| changes.heard(None));
        let stream = send_wrapper::SendWrapper::new(stream);
        on_cleanup(move || {
            online.remove();
            if let Some(s) = stream.borrow_mut().take() {
                s.close();
            }
        });
    }
}

/// How long after a change a screen reloads: one reload for a burst of changes.
#[cfg(feature = "hydrate")]
const DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(250);

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
    let on_change =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let client = e.data().as_string().and_then(|d| d.parse::<i64>().ok());
            changes.heard(Some(client.unwrap_or(NO_CLIENT)));
        });
    let again = current.clone();
    let on_reload = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
        // Reconnecting by itself would send the same stale id: start afresh.
        if let Some(s) = again.borrow_mut().take() {
            s.close();
        }
        changes.heard(None);
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
                        changes.heard(None);
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
    debounced(move || changes.all.track(), reload);
}

/// Runs `reload` shortly after changes to the client `client` names (or to "No
/// registrados", with [`crate::domain::conversation::NO_CLIENT`]) are heard, for as
/// long as the calling screen is mounted. Called once by a screen that outlives its
/// reloads, so that a change heard while a reload is under way is not lost with the
/// view it replaces.
pub fn on_client_changes(
    client: impl Into<Signal<Option<i64>>>,
    reload: impl Fn() + Clone + Send + Sync + 'static,
) {
    let Some(changes) = use_context::<LiveChanges>() else {
        return;
    };
    let client = client.into();
    #[cfg(feature = "hydrate")]
    {
        let following = StoredValue::new(None::<i64>);
        let unfollow = move |f: &mut HashMap<i64, (usize, u64)>, id: i64| {
            if let Some((screens, _)) = f.get_mut(&id) {
                *screens -= 1;
                if *screens == 0 {
                    f.remove(&id);
                }
            }
        };
        Effect::new(move |_| {
            let id = client.get();
            let old = following.get_value();
            if old == id {
                return;
            }
            changes.followed.update(|f| {
                if let Some(old) = old {
                    unfollow(f, old);
                }
                if let Some(id) = id {
                    f.entry(id).or_insert((0, 0)).0 += 1;
                }
            });
            following.set_value(id);
        });
        on_cleanup(move || {
            if let Some(id) = following.try_get_value().flatten() {
                let _ = changes.followed.try_update(|f| unfollow(f, id));
            }
        });
        let heard = Memo::new(move |_| {
            let id = client.get()?;
            changes.followed.with(|f| f.get(&id).map(|(_, n)| (id, *n)))
        });
        let waiting = StoredValue::new(false);
        Effect::new(move |before: Option<Option<(i64, u64)>>| {
            let now = heard.get();
            // Another client opened, or this one just followed: nothing to reload.
            let moved =
                matches!((before.flatten(), now), (Some((a, n)), Some((b, m))) if a == b && m > n);
            if moved {
                once_after_burst(waiting, reload.clone());
            }
            now
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (changes.followed, client, reload);
}

/// Runs `reload` 250 ms after `watch` moves, once for a burst of moves; not when it is
/// first read.
fn debounced(
    watch: impl Fn() + Send + Sync + 'static,
    reload: impl Fn() + Clone + Send + Sync + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        let waiting = StoredValue::new(false);
        Effect::new(move |mounted: Option<()>| {
            watch();
            if mounted.is_some() {
                once_after_burst(waiting, reload.clone());
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (watch, reload);
}

/// Runs `reload` after [`DEBOUNCE`] unless a run is already waiting: one run for a
/// burst of changes.
#[cfg(feature = "hydrate")]
fn once_after_burst(waiting: StoredValue<bool>, reload: impl FnOnce() + 'static) {
    if waiting.get_value() {
        return;
    }
    waiting.set_value(true);
    set_timeout(
        move || {
            // The screen may have gone (another page) while this waited.
            if waiting.is_disposed() {
                return;
            }
            waiting.set_value(false);
            reload();
        },
        DEBOUNCE,
    );
}
