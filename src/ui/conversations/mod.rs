//! Conversaciones: the "Recibidos" tray beside the open conversation, and the
//! "No registrados" tray.

pub mod composer;
pub mod gestion;
pub mod presence;
pub mod recent;
pub mod unregistered;
pub mod view;

use std::collections::HashSet;

use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;

use crate::api::calls::calls_tray;
use crate::api::clients::list_assignees;
use crate::api::conversations::{dismiss, inbox};
use crate::domain::alerts::{choice_bits, NON_PAYMENT_CHOICES, PAYMENT_PROBLEM_CHOICES};
use crate::domain::calls::CallReason;
use crate::domain::conversation::DismissTarget;
use crate::domain::error::AppError;
use crate::domain::listing::{
    merge_live, ClientCursor, ClientRow, ClientSort, InboxQuery, ListOrder,
};
use crate::domain::message::Channel;
use crate::domain::money::format_money;
use crate::domain::url;
use crate::domain::user::Role;
use crate::ui::alerts::{AlertFilterFields, AlertIcons};
use crate::ui::components::{fmt_date, fmt_datetime, ErrorNotice};
use crate::ui::use_session;

/// Bumped whenever a conversation changes, so the tray and its counter reload.
#[derive(Clone, Copy)]
pub struct InboxVersion(pub RwSignal<u64>);

impl InboxVersion {
    pub fn bump(&self) {
        self.0.update(|v| *v += 1);
    }
}

/// The open tray's rows in screen order and where its conversations live: the
/// keyboard walks them, and saving an outcome moves on to the next one.
#[derive(Clone, Copy)]
pub struct TrayContext {
    pub ids: RwSignal<Vec<i64>>,
    pub base: &'static str,
    /// Llamadas: registering an outcome opens the next client.
    pub advances_after_outcome: bool,
}

fn parse_query(m: &ParamsMap) -> InboxQuery {
    InboxQuery::from_params(|k| m.get(k))
}

fn with_query(path: &str, q: &InboxQuery) -> String {
    url::with_query(path, &q.params())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tray {
    Calls,
    Received,
    Unregistered,
}

impl Tray {
    fn base(self) -> &'static str {
        match self {
            Tray::Calls => "/llamadas",
            Tray::Received => "/conversaciones",
            Tray::Unregistered => "/no-registrados",
        }
    }
}

#[component]
pub fn TrayNav(active: Tray) -> impl IntoView {
    let current = |t: Tray| (active == t).then_some("page");
    view! {
        <nav class="trays" aria-label="Bandejas">
            <a href="/llamadas" aria-current=current(Tray::Calls)>"Llamadas"</a>
            <a href="/conversaciones" aria-current=current(Tray::Received)>"Recibidos"</a>
            <a href="/no-registrados" aria-current=current(Tray::Unregistered)>"No registrados"</a>
        </nav>
    }
}

/// Recibidos on the left, the open conversation (or a hint) on the right.
#[component]
pub fn InboxLayout() -> impl IntoView {
    view! { <TrayLayout tray=Tray::Received /> }
}

/// Llamadas on the left, the open conversation (or a hint) on the right.
#[component]
pub fn CallsLayout() -> impl IntoView {
    view! { <TrayLayout tray=Tray::Calls /> }
}

#[component]
fn TrayLayout(tray: Tray) -> impl IntoView {
    provide_context(InboxVersion(RwSignal::new(0)));
    provide_context(TrayContext {
        ids: RwSignal::new(Vec::new()),
        base: tray.base(),
        advances_after_outcome: tray == Tray::Calls,
    });
    let name = if tray == Tray::Calls {
        "Llamadas"
    } else {
        "Recibidos"
    };
    view! {
        <Title text="Conversaciones · Recaudo" />
        <h1 class="visually-hidden">"Conversaciones"</h1>
        <div class="inbox">
            <section class="inbox-pane" aria-label=name>
                <TrayNav active=tray />
                <InboxList tray />
            </section>
            <section class="conversation-pane" aria-label="Conversación">
                <Outlet />
            </section>
        </div>
    }
}

#[component]
pub fn NoConversation() -> impl IntoView {
    view! { <p class="empty">"Elige una conversación de la lista (j/k para moverte, Enter para abrirla, ? para ver los atajos)."</p> }
}

/// How long a row that left the list takes to fade out.
#[cfg(feature = "hydrate")]
const FADE: std::time::Duration = std::time::Duration::from_millis(600);

const SHORTCUTS: [(&str, &str); 6] = [
    ("j / ↓", "Siguiente conversación"),
    ("k / ↑", "Conversación anterior"),
    ("Enter", "Abrir la conversación marcada"),
    ("o", "Omitir los pendientes de la conversación marcada"),
    ("/", "Ir al buscador"),
    ("?", "Mostrar u ocultar esta ayuda"),
];

#[component]
fn InboxList(tray: Tray) -> impl IntoView {
    let calls = tray == Tray::Calls;
    let base = tray.base();
    let session = use_session();
    let viewer = session.viewer.clone();
    let version = expect_context::<InboxVersion>();
    let query_map = use_query_map();
    let params = use_params_map();
    let open_id = Memo::new(move |_| {
        params
            .with(|p| p.get("id"))
            .and_then(|id| id.parse::<i64>().ok())
    });
    let query = Memo::new(move |_| {
        let mut q = query_map.with(parse_query);
        if calls && q.sort == ListOrder::Recent {
            q.sort = ClientSort::DaysOverdueDesc.into();
        }
        q
    });
    let fetch = move |q: InboxQuery| async move {
        if calls {
            calls_tray(q).await
        } else {
            inbox(q).await
        }
    };
    let first = Resource::new(
        move || (query.get(), version.0.get()),
        move |(q, _)| fetch(q),
    );
    let more = RwSignal::new(Vec::<ClientRow>::new());
    let more_next = RwSignal::new(None::<(Option<ClientCursor>, bool)>);
    let ids = expect_context::<TrayContext>().ids;
    let marked = RwSignal::new(None::<i64>);
    let help = RwSignal::new(false);
    // Rows loaded with "Cargar más" would vanish if a change elsewhere reloaded the list
    // under the advisor's eyes; then the change is only pointed out.
    let stale = RwSignal::new(false);
    // The first page as shown. A change heard on the event stream updates it in place
    // (see `merge_live`): rows keep their places, rows that left fade out, and new ones
    // wait behind the "N nuevas" marker; the counters follow.
    let shown = RwSignal::new(Vec::<ClientRow>::new());
    let leaving = RwSignal::new(HashSet::<i64>::new());
    let arrived = RwSignal::new(0usize);
    let counts = RwSignal::new(None::<(i64, i64)>);
    // Bumped by every load of the list and every live fetch asked: only the answer to
    // the latest applies, so an older page never lands on a newer one.
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        query.track();
        version.0.track();
        more.set(Vec::new());
        more_next.set(None);
        stale.set(false);
    });
    let live = Action::new(move |(asked, on_screen): &(u64, Vec<ClientRow>)| {
        let (asked, q, on_screen) = (*asked, query.get_untracked(), on_screen.clone());
        async move {
            let page = fetch(q.clone()).await?;
            let fresh: HashSet<i64> = page.rows.iter().map(|r| r.id).collect();
            // Rows that new ones pushed down are on the next page, not gone.
            let beyond = match page.next {
                Some(cursor) if on_screen.iter().any(|r| !fresh.contains(&r.id)) => {
                    let next = InboxQuery {
                        after: Some(cursor),
                        after_broken: page.next_broken,
                        ..q.clone()
                    };
                    fetch(next).await?.rows
                }
                _ => Vec::new(),
            };
            Ok::<_, AppError>((asked, page, beyond))
        }
    });
    crate::ui::live::on_live_changes(move || {
        if more.with_untracked(Vec::is_empty) {
            generation.update_value(|g| *g += 1);
            live.dispatch((generation.get_value(), shown.get_untracked()));
        } else {
            // Rows loaded with "Cargar más" are not followed: the change is pointed out.
            stale.set(true);
        }
    });
    Effect::new(move |_| {
        let Some(Ok((asked, page, beyond))) = live.value().get() else {
            return;
        };
        if asked != generation.get_value() || !more.with_untracked(Vec::is_empty) {
            return;
        }
        let merged = merge_live(&shown.get_untracked(), &page.rows, &beyond);
        counts.set(Some((page.pending_messages, page.calls_due)));
        arrived.set(merged.new);
        shown.set(merged.rows);
        if !merged.gone.is_empty() {
            leaving.update(|l| l.extend(merged.gone.iter().copied()));
            #[cfg(feature = "hydrate")]
            {
                let gone = merged.gone;
                set_timeout(
                    move || {
                        // The list was loaded again meanwhile: it is already right.
                        if generation.try_get_value() != Some(asked) {
                            return;
                        }
                        let _ = shown.try_update(|rows| rows.retain(|r| !gone.contains(&r.id)));
                        let _ = leaving.try_update(|l| {
                            gone.iter().for_each(|id| {
                                l.remove(id);
                            })
                        });
                    },
                    FADE,
                );
            }
        }
    });
    Effect::new(move |_| {
        let mut list: Vec<i64> = shown.with(|rows| rows.iter().map(|r| r.id).collect());
        list.extend(more.with(|m| m.iter().map(|r| r.id).collect::<Vec<_>>()));
        ids.set(list);
    });
    #[cfg(feature = "hydrate")]
    {
        let every = std::time::Duration::from_secs(session.refresh_interval_secs);
        if let Ok(handle) = set_interval_with_handle(move || version.bump(), every) {
            on_cleanup(move || handle.clear());
        }
    }
    let load_more = Action::new(move |(cursor, broken): &(ClientCursor, bool)| {
        let q = InboxQuery {
            after: Some(*cursor),
            after_broken: *broken,
            ..query.get_untracked()
        };
        fetch(q)
    });
    Effect::new(move |_| {
        if let Some(Ok(page)) = load_more.value().get() {
            more.update(|rows| rows.extend(page.rows));
            more_next.set(Some((page.next, page.next_broken)));
        }
    });
    let omit = Action::new(move |client_id: &i64| {
        let target = DismissTarget {
            client_id: *client_id,
            party_role: None,
            up_to_message_id: None,
        };
        async move { dismiss(target).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = omit.value().get() {
            version.bump();
        }
    });

    let navigate = use_navigate();
    let go = {
        let navigate = navigate.clone();
        move |q: InboxQuery| {
            let path = match open_id.get_untracked() {
                Some(id) => format!("{base}/{id}"),
                None => base.to_string(),
            };
            navigate(&with_query(&path, &q), Default::default())
        }
    };
    let open = {
        let navigate = navigate.clone();
        move |id: i64| {
            navigate(
                &with_query(&format!("{base}/{id}"), &query.get_untracked()),
                Default::default(),
            )
        }
    };

    // Keyboard: j/k or arrows move the mark, Enter opens, o omits, / searches, ? helps.
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let open = open.clone();
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let typing = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                        || el.has_attribute("contenteditable")
                });
            if typing {
                return;
            }
            let list = ids.get_untracked();
            let current = marked
                .get_untracked()
                .or(open_id.get_untracked())
                .and_then(|id| list.iter().position(|x| *x == id));
            let step = |delta: isize| {
                let next = match current {
                    None => 0,
                    Some(i) => (i as isize + delta).clamp(0, list.len() as isize - 1) as usize,
                };
                if let Some(id) = list.get(next) {
                    marked.set(Some(*id));
                    if let Some(el) = document().get_element_by_id(&format!("inbox-row-{id}")) {
                        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                            let _ = el.focus();
                        }
                    }
                }
            };
            match ev.key().as_str() {
                "j" | "ArrowDown" => {
                    ev.prevent_default();
                    step(1);
                }
                "k" | "ArrowUp" => {
                    ev.prevent_default();
                    step(-1);
                }
                "Enter" => {
                    if let Some(id) = marked.get_untracked() {
                        ev.prevent_default();
                        open(id);
                    }
                }
                "o" if !calls => {
                    if let Some(id) = marked.get_untracked().or(open_id.get_untracked()) {
                        omit.dispatch(id);
                    }
                }
                "/" => {
                    ev.prevent_default();
                    if let Some(el) = document().get_element_by_id("inbox-search") {
                        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                            let _ = el.focus();
                        }
                    }
                }
                "?" => help.update(|h| *h = !*h),
                "Escape" => help.set(false),
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    }

    let search_input = RwSignal::new(String::new());
    Effect::new(move |_| search_input.set(query.get().search));
    let segment_input = RwSignal::new(String::new());
    Effect::new(move |_| segment_input.set(query.get().segment));
    let on_search = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            go(InboxQuery {
                search: search_input.get_untracked(),
                segment: segment_input.get_untracked(),
                ..query.get_untracked()
            });
        }
    };
    let change = {
        let go = go.clone();
        move |apply: fn(&mut InboxQuery, String)| {
            let go = go.clone();
            move |ev: leptos::ev::Event| {
                let mut q = query.get_untracked();
                apply(&mut q, event_target_value(&ev));
                go(q);
            }
        }
    };
    let on_view = change(|q, v| q.include_answered = v == "todas");
    let on_sort = change(|q, v| q.sort = ListOrder::parse(&v));
    let on_channel = change(|q, v| q.channel = v.parse().ok());
    let on_advisor = change(|q, v| q.advisor_id = v.parse().ok());
    let on_non_payment =
        change(|q, v| q.alerts.non_payment = choice_bits(&NON_PAYMENT_CHOICES, &v));
    let on_payment_problem =
        change(|q, v| q.alerts.payment_problem = choice_bits(&PAYMENT_PROBLEM_CHOICES, &v));
    let on_contactability = change(|q, v| q.alerts.contactability = v.parse().ok());
    let on_from = change(|q, v| q.from = NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok());
    let on_to = change(|q, v| q.to = NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok());
    let shows_advisors = viewer.role != Role::Advisor;
    let advisors = Resource::new(
        || (),
        move |_| async move {
            if shows_advisors {
                list_assignees().await
            } else {
                Ok(Vec::new())
            }
        },
    );

    view! {
        <div class="todo" role="status">
            <Transition fallback=|| view! { <span>"Por responder: …"</span> }>
                {move || Suspend::new(async move {
                    let loaded = first.await.map(|p| (p.pending_messages, p.calls_due)).unwrap_or_default();
                    move || {
                        let (n, due) = counts.get().unwrap_or(loaded);
                        view! {
                            <span>"Llamadas para hoy: "<strong data-testid="calls-count">{due}</strong></span>
                            <span>"Por responder: "<strong data-testid="todo-count">{n}</strong>
                                {if n == 1 { " mensaje" } else { " mensajes" }}</span>
                        }
                    }
                })}
            </Transition>
            <button type="button" class="secondary small" on:click=move |_| version.bump()>"Refrescar"</button>
            <Show when=move || stale.get()>
                <span class="stale">"Hay cambios en la bandeja."</span>
            </Show>
            <button type="button" class="link small" aria-expanded=move || help.get().to_string()
                on:click=move |_| help.update(|h| *h = !*h)>"Atajos (?)"</button>
        </div>
        <Show when=move || help.get()>
            <div class="shortcuts" role="dialog" aria-label="Atajos de teclado">
                <h2>"Atajos de teclado"</h2>
                <dl>
                    {SHORTCUTS.into_iter().map(|(k, what)| view! { <dt><kbd>{k}</kbd></dt><dd>{what}</dd> }).collect_view()}
                </dl>
                <button type="button" class="secondary small" on:click=move |_| help.set(false)>"Cerrar"</button>
            </div>
        </Show>
        <form class="inbox-filters" role="search" on:submit=on_search>
            <div class="field grow">
                <label for="inbox-search">"Buscar"</label>
                <input id="inbox-search" type="search" placeholder="Nombre, documento, teléfono o correo"
                    prop:value=move || search_input.get()
                    on:input=move |ev| search_input.set(event_target_value(&ev)) />
            </div>
            <button type="submit">"Buscar"</button>
            <Show when=move || !calls>
            <div class="field">
                <label for="inbox-view">"Mostrar"</label>
                <select id="inbox-view" on:change=on_view.clone()>
                    <option value="pendientes" selected=move || !query.get().include_answered>"Pendientes de responder"</option>
                    <option value="todas" selected=move || query.get().include_answered>"Todas las conversaciones"</option>
                </select>
            </div>
            </Show>
            <div class="field">
                <label for="inbox-sort">"Ordenar por"</label>
                <select id="inbox-sort" on:change=on_sort>
                    {ListOrder::all().filter(|s| !(calls && *s == ListOrder::Recent)).map(|s| view! {
                        <option value=s.as_str() selected=move || query.get().sort == s>{s.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <Show when=move || !calls>
            <div class="field">
                <label for="inbox-channel">"Canal"</label>
                <select id="inbox-channel" on:change=on_channel.clone()>
                    <option value="" selected=move || query.get().channel.is_none()>"Todos"</option>
                    {Channel::INBOUND.into_iter().map(|c| view! {
                        <option value=c.as_str() selected=move || query.get().channel == Some(c)>{c.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            </Show>
            <Show when=move || shows_advisors>
                <div class="field">
                    <label for="inbox-advisor">"Asesor"</label>
                    <select id="inbox-advisor" on:change=on_advisor.clone()>
                        <option value="" selected=move || query.get().advisor_id.is_none()>"Todos"</option>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                advisors.await.unwrap_or_default().into_iter().map(|a| {
                                    let id = a.id;
                                    view! { <option value=id.to_string() selected=move || query.get().advisor_id == Some(id)>{a.name}</option> }
                                }).collect_view()
                            })}
                        </Transition>
                    </select>
                </div>
            </Show>
            <div class="field">
                <label for="inbox-segment">"Segmento"</label>
                <input id="inbox-segment" type="text" prop:value=move || segment_input.get()
                    on:input=move |ev| segment_input.set(event_target_value(&ev)) />
            </div>
            <AlertFilterFields id_prefix="inbox" filter=Signal::derive(move || query.get().alerts)
                on_non_payment on_payment_problem on_contactability />
            <Show when=move || !calls>
            <div class="field">
                <label for="inbox-from">"Desde"</label>
                <input id="inbox-from" type="date" prop:value=move || query.get().from.map(|d| d.to_string()).unwrap_or_default()
                    on:change=on_from.clone() />
            </div>
            <div class="field">
                <label for="inbox-to">"Hasta"</label>
                <input id="inbox-to" type="date" prop:value=move || query.get().to.map(|d| d.to_string()).unwrap_or_default()
                    on:change=on_to.clone() />
            </div>
            </Show>
            <Transition fallback=|| ()>
                {move || {
                    let change = change.clone();
                    Suspend::new(async move {
                        let page = first.await.ok()?;
                        let locked = !page.may_see_all;
                        let associated_exists = !(page.showing_all && locked);
                        Some(view! {
                            <div class="field">
                                <label for="inbox-scope">"Clientes"</label>
                                <select id="inbox-scope" disabled=locked on:change=change(|q, v| q.all_clients = v == "todos")
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
        <Transition fallback=|| view! { <p class="loading">"Cargando conversaciones…"</p> }>
            {move || {
                let open = open.clone();
                Suspend::new(async move {
                match first.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(page) => {
                        let first_next = (page.next, page.next_broken);
                        let next = move || {
                            let (cursor, broken) = more_next.get().unwrap_or(first_next);
                            cursor.map(|c| (c, broken))
                        };
                        generation.update_value(|g| *g += 1);
                        shown.set(page.rows);
                        // Only writes that change something: the counter above reads
                        // `counts` in a boundary of its own, and on the server a write
                        // that changed nothing still reached it while it rendered; about
                        // one page in 40 never finished (`bench http` found it; measured
                        // with curl against a demo server).
                        if leaving.with_untracked(|l| !l.is_empty()) {
                            leaving.set(HashSet::new());
                        }
                        if arrived.get_untracked() != 0 {
                            arrived.set(0);
                        }
                        if counts.with_untracked(Option::is_some) {
                            counts.set(None);
                        }
                        let empty = move || shown.with(Vec::is_empty) && more.with(Vec::is_empty);
                        let open2 = open.clone();
                        view! {
                            <Show when=move || { arrived.get() > 0 }>
                                <button type="button" class="new-rows" on:click=move |_| first.refetch()>
                                    {move || match arrived.get() {
                                        1 => "1 nueva · Mostrar".to_string(),
                                        n => format!("{n} nuevas · Mostrar"),
                                    }}
                                </button>
                            </Show>
                            <ul class="inbox-list" aria-label=if calls { "Llamadas pendientes" } else { "Conversaciones" }>
                                <For each=move || shown.get() key=|row| format!("{row:?}")
                                    children=move |row| view! { <Row row query marked open_id open=open.clone() tray leaving /> } />
                                {move || more.get().into_iter().map(|row| view! { <Row row query marked open_id open=open2.clone() tray leaving /> }).collect_view()}
                            </ul>
                            <Show when=empty>
                                <p class="empty">{if calls { "No quedan llamadas para hoy." } else { "No hay conversaciones que coincidan." }}</p>
                            </Show>
                            <Show when=move || next().is_some()>
                                <button type="button" class="secondary more" disabled=move || load_more.pending().get()
                                    on:click=move |_| {
                                        if let Some(at) = next() {
                                            load_more.dispatch(at);
                                        }
                                    }>"Cargar más"</button>
                            </Show>
                            {move || load_more.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                            {move || omit.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                        }
                            .into_any()
                    }
                }
            })
            }}
        </Transition>
    }
}

#[component]
fn Row<F>(
    row: ClientRow,
    query: Memo<InboxQuery>,
    marked: RwSignal<Option<i64>>,
    open_id: Memo<Option<i64>>,
    open: F,
    tray: Tray,
    /// Rows that left the list, fading out.
    leaving: RwSignal<HashSet<i64>>,
) -> impl IntoView
where
    F: Fn(i64) + Clone + Send + Sync + 'static,
{
    let id = row.id;
    let channel = row.channel();
    let base = tray.base();
    let href = move || with_query(&format!("{base}/{id}"), &query.get());
    let broken = row.call_reason() == Some(CallReason::BrokenPromise);
    let when = match (tray, row.call_due_date) {
        (Tray::Calls, Some(d)) => format!("Llamar desde el {}", fmt_date(d)),
        _ => row
            .last_activity_local
            .map(fmt_datetime)
            .unwrap_or_default(),
    };
    let pending = row.pending_count;
    let money = format_money(row.overdue_total_cents, &row.currency);
    view! {
        <li class="inbox-row" class:marked=move || marked.get() == Some(id)
            class:leaving=move || leaving.with(|l| l.contains(&id))
            class:open=move || open_id.get() == Some(id)>
            <a id=format!("inbox-row-{id}") href=href
                aria-current=move || (open_id.get() == Some(id)).then_some("page")
                on:focus=move |_| marked.set(Some(id))
                on:click=move |ev| {
                    // Ctrl/Cmd/Shift-click still opens a new tab or window.
                    if !(ev.ctrl_key() || ev.meta_key() || ev.shift_key()) {
                        ev.prevent_default();
                        open(id);
                    }
                }>
                <span class="channel-icon" title=channel.map(Channel::label)>
                    <span aria-hidden="true">{channel.map(Channel::icon).unwrap_or("·")}</span>
                    <span class="visually-hidden">{channel.map(Channel::label).unwrap_or("Sin mensajes")}</span>
                </span>
                <span class="row-main">
                    <span class="row-name">{row.display_name.clone()}<AlertIcons flags=row.flags() /></span>
                    <Show when=move || broken>
                        <span class="tag broken">"Compromiso incumplido"</span>
                    </Show>
                    {(tray == Tray::Calls).then(|| row.call_blocked.clone()).flatten().map(|why| {
                        let text = why.clone();
                        view! { <span class="row-policy" title=why>{text}</span> }
                    })}
                    <span class="row-subject">{row.last_subject.clone()}</span>
                    <span class="row-advisor">{row.advisor_name.clone().unwrap_or_else(|| "Sin asignar".into())}</span>
                </span>
                <span class="row-side">
                    <span class="row-amount" data-cents=row.overdue_total_cents.to_string()>{money}</span>
                    <span class="row-days" data-days=row.days_overdue.to_string()>{format!("{} días", row.days_overdue)}</span>
                    <span class="row-when">{when}</span>
                </span>
                <Show when=move || { pending > 0 }>
                    <span class="badge" data-pending=pending.to_string()>
                        {pending}<span class="visually-hidden">" por responder"</span>
                    </span>
                </Show>
            </a>
        </li>
    }
}
