//! "Camila Rojas está respondiendo": the open conversation's heartbeat, every few
//! seconds and at once when the user starts writing, answers who else is on it.

use leptos::prelude::*;

use crate::domain::presence::{describe, Colleague};

#[component]
pub fn PresenceLine(client_id: i64, body: RwSignal<String>) -> impl IntoView {
    let others = RwSignal::new(Vec::<Colleague>::new());
    #[cfg(feature = "hydrate")]
    heartbeat(client_id, body, others);
    #[cfg(not(feature = "hydrate"))]
    let _ = (client_id, body);
    view! {
        <p class="presence" role="status">{move || others.with(|o| describe(o))}</p>
    }
}

#[cfg(feature = "hydrate")]
fn heartbeat(client_id: i64, body: RwSignal<String>, others: RwSignal<Vec<Colleague>>) {
    use crate::api::conversations::conversation_presence;
    use crate::domain::presence::{Beat, BEAT_SECS, TYPING_FOR};
    let send = move |beat: Beat| {
        leptos::task::spawn_local(async move {
            if let Ok(list) = conversation_presence(client_id, beat).await {
                // The conversation may have closed while this was on its way.
                let _ = others.try_set(list);
            }
        });
    };
    let typing_ms = TYPING_FOR.num_milliseconds() as f64;
    let last_key = StoredValue::new(f64::MIN);
    let last_typing_beat = StoredValue::new(f64::MIN);
    send(Beat::Viewing);
    let every = std::time::Duration::from_secs(BEAT_SECS);
    if let Ok(handle) = set_interval_with_handle(
        move || {
            let now = js_sys::Date::now();
            let typing = last_key
                .try_get_value()
                .is_some_and(|k| now - k < typing_ms);
            send(if typing { Beat::Typing } else { Beat::Viewing });
        },
        every,
    ) {
        on_cleanup(move || handle.clear());
    }
    Effect::new(move |first: Option<()>| {
        let empty = body.with(String::is_empty);
        if first.is_none() || empty {
            return;
        }
        let now = js_sys::Date::now();
        last_key.set_value(now);
        // The first keystroke is told at once, then with the heartbeat.
        if now - last_typing_beat.get_value() > typing_ms / 2.0 {
            last_typing_beat.set_value(now);
            send(Beat::Typing);
        }
    });
}
