use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::clients::list_clients;
use crate::domain::alerts::{
    choice_bits, AlertFilter, NON_PAYMENT_CHOICES, PAYMENT_PROBLEM_CHOICES,
};
use crate::domain::listing::{ClientCursor, ClientListQuery, ClientRow, ClientSort};
use crate::domain::money::format_money;
use crate::domain::url::{query_string, with_query};
use crate::domain::user::Role;
use crate::ui::alerts::{AlertFilterFields, AlertFlags};
use crate::ui::clients::AssignControl;
use crate::ui::components::{fmt_opt_date, DownloadLink, ErrorNotice};
use crate::ui::use_session;

fn page_path(q: &ClientListQuery) -> String {
    with_query("/clientes", &q.params())
}

#[component]
pub fn ClientsPage() -> impl IntoView {
    let session = use_session();
    let viewer = session.viewer.clone();
    let query_map = use_query_map();
    let query = Memo::new(move |_| query_map.with(|m| ClientListQuery::from_params(|k| m.get(k))));
    let first = Resource::new(move || query.get(), list_clients);
    let more = RwSignal::new(Vec::<ClientRow>::new());
    let more_next = RwSignal::new(None::<Option<ClientCursor>>);
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    Effect::new(move |_| {
        query.track();
        more.set(Vec::new());
        more_next.set(None);
        selected.set(BTreeSet::new());
    });
    // Lists go stale as colleagues work; refresh them on the configured interval.
    #[cfg(feature = "hydrate")]
    {
        let every = std::time::Duration::from_secs(session.refresh_interval_secs);
        if let Ok(handle) = set_interval_with_handle(move || first.refetch(), every) {
            on_cleanup(move || handle.clear());
        }
    }
    let load_more = Action::new(move |cursor: &ClientCursor| {
        let q = ClientListQuery {
            after: Some(*cursor),
            ..query.get_untracked()
        };
        async move { list_clients(q).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(page)) = load_more.value().get() {
            more.update(|rows| rows.extend(page.rows));
            more_next.set(Some(page.next));
        }
    });

    let navigate = use_navigate();
    let go = move |q: ClientListQuery| navigate(&page_path(&q), Default::default());
    let search_input = RwSignal::new(String::new());
    Effect::new(move |_| search_input.set(query.get().search));
    let may_reassign = viewer.may_reassign();
    let is_admin = viewer.role == Role::Admin;

    let on_search = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            go(ClientListQuery {
                search: search_input.get_untracked(),
                ..query.get_untracked()
            });
        }
    };
    let on_sort = {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            go(ClientListQuery {
                sort: ClientSort::parse(&event_target_value(&ev)),
                ..query.get_untracked()
            })
        }
    };
    let on_scope = {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            go(ClientListQuery {
                all_clients: event_target_value(&ev) == "todos",
                ..query.get_untracked()
            })
        }
    };
    let change = move |apply: fn(&mut AlertFilter, String)| {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            let mut q = query.get_untracked();
            apply(&mut q.alerts, event_target_value(&ev));
            go(q);
        }
    };
    let on_non_payment = change(|f, v| f.non_payment = choice_bits(&NON_PAYMENT_CHOICES, &v));
    let on_payment_problem =
        change(|f, v| f.payment_problem = choice_bits(&PAYMENT_PROBLEM_CHOICES, &v));
    let on_contactability = change(|f, v| f.contactability = v.parse().ok());
    let export_href = move |format: &str| match query_string(&query.get().params()) {
        s if s.is_empty() => format!("/api/clients/export?formato={format}"),
        s => format!("/api/clients/export?{s}&formato={format}"),
    };
    let lifted = Callback::new(move |()| first.refetch());

    view! {
        <Title text="Clientes · Recaudo" />
        <div class="page-head">
            <h1>"Clientes"</h1>
            <div class="actions">
                <a class="button" href="/clientes/nuevo">"Nuevo cliente"</a>
                <Show when=move || is_admin>
                    <a class="button secondary" href="/clientes/importar">"Importar cartera"</a>
                </Show>
                <DownloadLink href=Signal::derive(move || export_href("csv")) label="Exportar CSV" />
                <DownloadLink href=Signal::derive(move || export_href("xlsx")) label="Exportar Excel" />
            </div>
        </div>
        <form class="toolbar" role="search" on:submit=on_search>
            <div class="field grow">
                <label for="search">"Buscar cliente"</label>
                <input id="search" type="search" placeholder="Nombre, documento, teléfono o correo"
                    prop:value=move || search_input.get()
                    on:input=move |ev| search_input.set(event_target_value(&ev)) />
            </div>
            <button type="submit">"Buscar"</button>
            <div class="field">
                <label for="sort">"Ordenar por"</label>
                <select id="sort" on:change=on_sort>
                    {ClientSort::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || query.get().sort == s>{s.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <AlertFilterFields id_prefix="clients" filter=Signal::derive(move || query.get().alerts)
                on_non_payment on_payment_problem on_contactability />
            <Transition fallback=|| ()>
                {move || {
                let on_scope = on_scope.clone();
                Suspend::new(async move {
                    let page = first.await.ok()?;
                    let locked = !page.may_see_all;
                    let associated_exists = !(page.showing_all && locked);
                    Some(view! {
                        <div class="field">
                            <label for="scope">"Mostrar"</label>
                            <select id="scope" disabled=locked on:change=on_scope
                                title=locked.then_some("Filtro bloqueado: un administrador puede desbloquearlo en Usuarios.")>
                                <Show when=move || associated_exists>
                                    <option value="asociados" selected=!page.showing_all>"Clientes asociados"</option>
                                </Show>
                                <option value="todos" selected=page.showing_all>"Todos los clientes"</option>
                            </select>
                        </div>
                    })
                })
                }}
            </Transition>
        </form>
        // Outside the list's transition, so that refreshing the list after an
        // assignment keeps the control and its confirmation on screen.
        <Show when=move || may_reassign>
            <AssignControl
                selected=Signal::derive(move || selected.get().into_iter().collect())
                button_label="Asignar seleccionados"
                done=Callback::new(move |_| {
                    selected.set(BTreeSet::new());
                    first.refetch();
                })
            />
        </Show>
        <Transition fallback=|| view! { <p class="loading">"Cargando clientes…"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(page) => {
                        let first_next = page.next;
                        let next = move || more_next.get().unwrap_or(first_next);
                        let empty = page.rows.is_empty();
                        let first_rows = page.rows;
                        view! {
                            <table class="clients">
                                <caption class="visually-hidden">"Clientes"</caption>
                                <thead>
                                    <tr>
                                        <Show when=move || may_reassign><th scope="col"><span class="visually-hidden">"Seleccionar"</span></th></Show>
                                        <th scope="col">"Cliente"</th>
                                        <th scope="col">"Alerta"</th>
                                        <th scope="col">"Contactabilidad"</th>
                                        <th scope="col">"Documento"</th>
                                        <th scope="col">"Asesor"</th>
                                        <th scope="col" class="num">"Deuda vencida"</th>
                                        <th scope="col" class="num">"Días de atraso"</th>
                                        <th scope="col">"Vencimiento más antiguo"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {first_rows.into_iter().map(|row| view! { <Row row selected may_reassign lifted /> }).collect_view()}
                                    {move || more.get().into_iter().map(|row| view! { <Row row selected may_reassign lifted /> }).collect_view()}
                                </tbody>
                            </table>
                            <Show when=move || empty>
                                <p class="empty">"No hay clientes que coincidan."</p>
                            </Show>
                            <Show when=move || next().is_some()>
                                <button type="button" class="secondary more" disabled=move || load_more.pending().get()
                                    on:click=move |_| {
                                        if let Some(cursor) = next() {
                                            load_more.dispatch(cursor);
                                        }
                                    }>"Cargar más"</button>
                            </Show>
                            {move || load_more.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn Row(
    row: ClientRow,
    selected: RwSignal<BTreeSet<i64>>,
    may_reassign: bool,
    lifted: Callback<()>,
) -> impl IntoView {
    let id = row.id;
    let name = row.display_name.clone();
    let flags = row.flags();
    let contactability = row.alerts().contactability().label();
    view! {
        <tr>
            <Show when=move || may_reassign>
                <td>
                    <input type="checkbox" aria-label=format!("Seleccionar a {name}")
                        prop:checked=move || selected.with(|s| s.contains(&id))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                        } />
                </td>
            </Show>
            <td class="name">
                <a href=format!("/clientes/{id}")>{row.display_name.clone()}</a>
            </td>
            <td><AlertFlags client_id=id flags lifted /></td>
            <td>{contactability}</td>
            <td>{row.document_number}</td>
            <td>{row.advisor_name.unwrap_or_else(|| "Sin asignar".into())}</td>
            <td class="num">{format_money(row.overdue_total_cents, &row.currency)}</td>
            <td class="num">{row.days_overdue}</td>
            <td>{fmt_opt_date(row.oldest_unpaid_due_date)}</td>
        </tr>
    }
}
