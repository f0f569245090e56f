pub mod detail;
pub mod form;
pub mod import;
pub mod list;

use leptos::prelude::*;

use crate::api::clients::{assign_clients, list_assignees};
use crate::domain::error::AppError;
use crate::domain::user::Assignee;
use crate::ui::use_session;

/// "Asignar a" with the users the viewer may assign to, and the button that does it.
/// `selected` gives the client ids; `done` runs after a successful assignment. The list
/// of users loads only where the control is shown.
#[component]
pub fn AssignControl(
    selected: Signal<Vec<i64>>,
    done: Callback<u64>,
    #[prop(into)] button_label: String,
) -> impl IntoView {
    let assignees = Resource::new(|| (), |_| list_assignees());
    let allow_unassign = use_session().viewer.is_admin();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let button_label = button_label.clone();
                Suspend::new(async move {
                    let assignees = assignees.await.unwrap_or_default();
                    view! { <AssignForm assignees selected done button_label allow_unassign /> }
                })
            }}
        </Suspense>
    }
}

#[component]
fn AssignForm(
    assignees: Vec<Assignee>,
    selected: Signal<Vec<i64>>,
    done: Callback<u64>,
    button_label: String,
    allow_unassign: bool,
) -> impl IntoView {
    let target = RwSignal::new(String::new());
    let assign = Action::new(move |(ids, advisor): &(Vec<i64>, Option<i64>)| {
        let (ids, advisor) = (ids.clone(), *advisor);
        async move { assign_clients(ids, advisor).await }
    });
    let message = RwSignal::new(None::<Result<String, AppError>>);
    Effect::new(move |_| match assign.value().get() {
        Some(Ok(n)) => {
            message.set(Some(Ok(if n == 1 {
                "Se reasignó 1 cliente.".to_string()
            } else {
                format!("Se reasignaron {n} clientes.")
            })));
            done.run(n);
        }
        Some(Err(e)) => message.set(Some(Err(e))),
        None => {}
    });
    let submit = move |_| {
        let ids = selected.get_untracked();
        if ids.is_empty() {
            message.set(Some(Err(AppError::invalid(
                "ids",
                "Selecciona al menos un cliente.",
            ))));
            return;
        }
        let advisor = match target.get_untracked().as_str() {
            "" => {
                message.set(Some(Err(AppError::invalid(
                    "advisor_id",
                    "Elige a quién asignar.",
                ))));
                return;
            }
            "ninguno" => None,
            id => id.parse().ok(),
        };
        assign.dispatch((ids, advisor));
    };
    view! {
        <div class="assign">
            <label for="assign-target">"Asignar a"</label>
            <select id="assign-target" on:change=move |ev| target.set(event_target_value(&ev))>
                <option value="">"Elige asesor o supervisor…"</option>
                {assignees.into_iter().map(|a| view! {
                    <option value=a.id.to_string()>{format!("{} ({})", a.name, a.role.label())}</option>
                }).collect_view()}
                <Show when=move || allow_unassign>
                    <option value="ninguno">"Sin asignar"</option>
                </Show>
            </select>
            <button type="button" on:click=submit disabled=move || assign.pending().get()>{button_label}</button>
            {move || message.get().map(|m| match m {
                Ok(text) => view! { <p class="notice ok" role="status">{text}</p> }.into_any(),
                Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </div>
    }
}
