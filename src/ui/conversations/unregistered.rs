//! "No registrados": messages from senders no client has, and linking them to one.

use std::collections::HashSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::{Tray, TrayNav};
use crate::api::conversations::{link_message, list_unregistered};
use crate::domain::client::PartyRole;
use crate::domain::conversation::{UnregisteredMessage, NO_CLIENT};
use crate::ui::components::{fmt_datetime, ErrorNotice, FieldMessage, FormFeedback};
use crate::ui::live::on_client_changes;

#[component]
pub fn UnregisteredPage() -> impl IntoView {
    let messages = Resource::new(|| (), |_| list_unregistered());
    // The messages as shown, followed live: each keeps its place (and the document
    // being typed in its form); one linked elsewhere fades out; new ones wait behind
    // the "N nuevos" marker.
    let shown = RwSignal::new(Vec::<UnregisteredMessage>::new());
    let latest = RwSignal::new(Vec::<UnregisteredMessage>::new());
    let leaving = RwSignal::new(HashSet::<i64>::new());
    let live = Action::new(|_: &()| list_unregistered());
    on_client_changes(Signal::stored(Some(NO_CLIENT)), move || {
        live.dispatch(());
    });
    Effect::new(move |_| {
        let Some(Ok(list)) = live.value().get() else {
            return;
        };
        let now: HashSet<i64> = list.iter().map(|m| m.id).collect();
        let gone: Vec<i64> = shown.with_untracked(|s| {
            s.iter()
                .map(|m| m.id)
                .filter(|id| !now.contains(id))
                .collect()
        });
        latest.set(list);
        if gone.is_empty() {
            return;
        }
        leaving.update(|l| l.extend(gone.iter().copied()));
        #[cfg(feature = "hydrate")]
        set_timeout(
            move || {
                let _ = shown.try_update(|s| s.retain(|m| !gone.contains(&m.id)));
            },
            std::time::Duration::from_millis(600),
        );
    });
    let arrived = move || {
        shown.with(|s| {
            let on_screen: HashSet<i64> = s.iter().map(|m| m.id).collect();
            latest.with(|l| l.iter().filter(|m| !on_screen.contains(&m.id)).count())
        })
    };
    view! {
        <Title text="No registrados · Recaudo" />
        <TrayNav active=Tray::Unregistered />
        <h1>"No registrados"</h1>
        <p class="hint">"Mensajes de números o correos que no tiene ningún cliente. Vincúlalos al cliente que corresponda: pasan a su conversación, pendientes de respuesta."</p>
        <Transition fallback=|| view! { <p class="loading">"Cargando…"</p> }>
            {move || Suspend::new(async move {
                match messages.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(list) => {
                        shown.set(list.clone());
                        latest.set(list);
                        view! {
                            <Show when=move || { arrived() > 0 }>
                                <button type="button" class="new-rows" on:click=move |_| {
                                    leaving.set(HashSet::new());
                                    shown.set(latest.get_untracked());
                                }>
                                    {move || match arrived() {
                                        1 => "1 nuevo · Mostrar".to_string(),
                                        n => format!("{n} nuevos · Mostrar"),
                                    }}
                                </button>
                            </Show>
                            <Show when=move || shown.with(Vec::is_empty)>
                                <p class="empty">"No hay mensajes sin vincular."</p>
                            </Show>
                            <ul class="unregistered">
                                <For each=move || shown.get() key=|m| m.id
                                    children=move |m| view! { <Item m leaving /> } />
                            </ul>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

const TARGETS: [(PartyRole, i32, &str); 5] = [
    (PartyRole::Client, 1, "Cliente"),
    (PartyRole::Reference, 1, "Referencia 1"),
    (PartyRole::Reference, 2, "Referencia 2"),
    (PartyRole::Guarantor, 1, "Garante 1"),
    (PartyRole::Guarantor, 2, "Garante 2"),
];

#[component]
fn Item(m: UnregisteredMessage, leaving: RwSignal<HashSet<i64>>) -> impl IntoView {
    let id = m.id;
    let document = RwSignal::new(String::new());
    let target = RwSignal::new(0usize);
    let feedback = FormFeedback::default();
    let link = Action::new(move |(doc, t): &(String, usize)| {
        let (role, ordinal, _) = TARGETS[*t];
        let doc = doc.clone();
        async move { link_message(id, doc, role, ordinal).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| match link.value().get() {
        Some(Ok(client_id)) => {
            navigate(&format!("/conversaciones/{client_id}"), Default::default())
        }
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let doc_id = format!("link-doc-{id}");
    let target_id = format!("link-target-{id}");
    let sender = if m.sender_name.is_empty() {
        m.address.clone()
    } else {
        format!("{} ({})", m.sender_name, m.address)
    };
    view! {
        <li class="card" class:leaving=move || leaving.with(|l| l.contains(&id))>
            <p class="meta"><strong>{sender}</strong>" · "{m.channel.label()}" · "{fmt_datetime(m.at)}</p>
            {(!m.subject.is_empty()).then(|| view! { <p class="subject">{m.subject.clone()}</p> })}
            <p class="body-text">{m.body.clone()}</p>
            <form class="inline-form" on:submit=move |ev| {
                ev.prevent_default();
                feedback.clear();
                link.dispatch((document.get_untracked(), target.get_untracked()));
            }>
                <div class="field">
                    <label for=doc_id.clone()>"Documento del cliente"</label>
                    <input id=doc_id type="text" prop:value=move || document.get()
                        on:input=move |ev| document.set(event_target_value(&ev)) />
                    <FieldMessage errors=feedback.errors name="document_number" />
                </div>
                <div class="field">
                    <label for=target_id.clone()>"Como"</label>
                    <select id=target_id on:change=move |ev| target.set(event_target_value(&ev).parse().unwrap_or(0))>
                        {TARGETS.iter().enumerate().map(|(i, (_, _, label))| view! { <option value=i.to_string()>{*label}</option> }).collect_view()}
                    </select>
                    <FieldMessage errors=feedback.errors name="party" />
                </div>
                <button type="submit" disabled=move || link.pending().get()>"Vincular"</button>
            </form>
            {feedback.view()}
        </li>
    }
}
