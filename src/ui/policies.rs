//! Ajustes › Política de contacto: the countries and where each one's rules come from,
//! and one country's policy to edit: days and hours, holidays, caps and what each rule
//! does when broken.

use chrono::{NaiveDate, NaiveTime};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::policies::{
    add_holiday, contact_policies, contact_policy, delete_holiday, reset_contact_policy,
    save_contact_policy,
};
use crate::domain::automation::WEEKDAYS;
use crate::domain::governance::{
    Action as RuleAction, Cap, DayHours, Holiday, Measure, Policy, PolicyDetail, Window,
    CONTACT_CHANNELS,
};
use crate::ui::components::{ErrorNotice, FieldMessage, FormFeedback};

const PAGE: &str = "/ajustes/politica-de-contacto";

#[component]
pub fn ContactPolicyPage() -> impl IntoView {
    let query = use_query_map();
    let country = Memo::new(move |_| query.with(|q| q.get("pais")).filter(|c| !c.is_empty()));
    view! {
        <Title text="Política de contacto · Recaudo" />
        <h1>"Política de contacto"</h1>
        {move || match country.get() {
            None => view! { <PolicyList /> }.into_any(),
            Some(c) => view! { <PolicyPage country=c /> }.into_any(),
        }}
    }
}

#[component]
fn PolicyList() -> impl IntoView {
    let list = Resource::new(|| (), |_| contact_policies());
    view! {
        <p>"Cada contacto con un deudor pasa antes por la política del país del deudor, en su hora local: días y horarios, festivos, topes de contactos y qué puede leer una referencia."</p>
        <Transition fallback=|| view! { <p class="loading">"Cargando…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(rows) => view! {
                        <table class="policies">
                            <caption>"Políticas por país"</caption>
                            <thead><tr><th scope="col">"País"</th><th scope="col">"Fuente"</th><th scope="col">"Estado"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|r| view! {
                                    <tr>
                                        <th scope="row"><a href=format!("{PAGE}?pais={}", r.country)>{r.country_name.clone()}</a></th>
                                        <td class="small">{r.source.clone()}</td>
                                        <td>{match (r.legal, r.edited) {
                                            (_, true) => "Editada",
                                            (true, false) => "Ley cargada",
                                            (false, false) => "Sin política legal cargada",
                                        }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PolicyPage(country: String) -> impl IntoView {
    let version = RwSignal::new(0u32);
    // Kept by the page: saving reloads the policy and rebuilds the editor below, and
    // the confirmation must outlive it.
    let saved = RwSignal::new(None::<&'static str>);
    let code = country.clone();
    let detail = Resource::new(move || version.get(), move |_| contact_policy(code.clone()));
    view! {
        <p><a href=PAGE>"← Todas las políticas"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Cargando…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(d) => view! { <PolicyEditor detail=d version saved /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn time_value(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn parse_time(v: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(v.trim(), "%H:%M").ok()
}

fn action_select(
    id: String,
    label: &'static str,
    get: impl Fn() -> RuleAction + Send + Sync + Copy + 'static,
    set: impl Fn(RuleAction) + Send + Sync + Copy + 'static,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id on:change=move |ev| {
                if let Ok(a) = event_target_value(&ev).parse() { set(a) }
            }>
                {RuleAction::ALL.iter().map(|a| view! {
                    <option value=a.as_str() selected=move || get() == *a>{a.label()}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

#[component]
fn PolicyEditor(
    detail: PolicyDetail,
    version: RwSignal<u32>,
    saved: RwSignal<Option<&'static str>>,
) -> impl IntoView {
    let policy = RwSignal::new(detail.policy.clone());
    let country = detail.policy.country.clone();
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let save = Action::new(move |p: &Policy| save_contact_policy(p.clone()));
    let reset = Action::new(move |c: &String| reset_contact_policy(c.clone()));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => {
            saved.set(Some(
                "Política guardada: rige desde ahora para todos los contactos.",
            ));
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    Effect::new(move |_| match reset.value().get() {
        Some(Ok(())) => {
            saved.set(Some("Se restauró la política de fábrica."));
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        feedback.clear();
        saved.set(None);
        save.dispatch(policy.get_untracked());
    };
    let edit = move |f: &dyn Fn(&mut Policy)| policy.update(|p| f(p));
    let reset_country = country.clone();
    let edited = detail.edited;
    view! {
        <h2>{format!("{} ({})", detail.country_name, country)}</h2>
        <p class="small">{if edited { "Editada por un administrador." } else { "Política de fábrica." }}</p>
        <form class="card policy-form" aria-label="Política de contacto" on:submit=submit>
            <div class="field">
                <label for="source">"Fuente y alcance"</label>
                <textarea id="source" rows="4"
                    aria-invalid=move || errors.with(|e| e.iter().any(|e| e.field == "source")).then_some("true")
                    prop:value=move || policy.with(|p| p.source.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); edit(&|p| p.source = v.clone()) }></textarea>
                <FieldMessage errors name="source" />
            </div>
            <fieldset>
                <legend>"Días y horarios (hora local del deudor)"</legend>
                {(0..7).map(|i| {
                    let day = WEEKDAYS[i];
                    let open_id = format!("open_{i}");
                    let close_id = format!("close_{i}");
                    let hours = move || policy.with(|p| p.hours[i]);
                    view! {
                        <div class="policy-day">
                            <label class="inline">
                                <input type="checkbox" prop:checked=move || hours().is_some()
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        edit(&|p| p.hours[i] = on.then(|| DayHours {
                                            open: parse_time("08:00").unwrap_or_default(),
                                            close: parse_time("18:00").unwrap_or_default(),
                                        }));
                                    } />
                                {format!("{day}: abierto")}
                            </label>
                            <Show when=move || hours().is_some()>
                                <label for=open_id.clone()>{format!("Apertura del {}", day.to_lowercase())}</label>
                                <input id=open_id.clone() type="time"
                                    prop:value=move || hours().map(|h| time_value(h.open)).unwrap_or_default()
                                    on:change=move |ev| if let Some(t) = parse_time(&event_target_value(&ev)) {
                                        edit(&|p| if let Some(h) = p.hours[i].as_mut() { h.open = t });
                                    } />
                                <label for=close_id.clone()>{format!("Cierre del {}", day.to_lowercase())}</label>
                                <input id=close_id.clone() type="time"
                                    prop:value=move || hours().map(|h| time_value(h.close)).unwrap_or_default()
                                    on:change=move |ev| if let Some(t) = parse_time(&event_target_value(&ev)) {
                                        edit(&|p| if let Some(h) = p.hours[i].as_mut() { h.close = t });
                                    } />
                            </Show>
                            <FieldMessage errors name=format!("hours_{i}") />
                        </div>
                    }
                }).collect_view()}
                <label class="inline">
                    <input type="checkbox" prop:checked=move || policy.with(|p| p.closed_on_holidays)
                        on:change=move |ev| { let on = event_target_checked(&ev); edit(&|p| p.closed_on_holidays = on) } />
                    "No contactar en festivos"
                </label>
                {action_select("hours_action".into(), "Fuera de horario o en festivo",
                    move || policy.with(|p| p.hours_action),
                    move |a| policy.update(|p| p.hours_action = a))}
            </fieldset>
            <fieldset>
                <legend>"Topes de contactos (por deudor, en todos sus contactos y pestañas)"</legend>
                <label class="inline">
                    <input type="checkbox" prop:checked=move || policy.with(|p| p.replies_exempt)
                        on:change=move |ev| { let on = event_target_checked(&ev); edit(&|p| p.replies_exempt = on) } />
                    "Responder por el canal en que el deudor escribió (últimas 24 horas) no cuenta como contacto nuevo"
                </label>
                {move || (0..policy.with(|p| p.caps.len())).map(|i| view! { <CapFields policy i errors /> }).collect_view()}
                <button type="button" class="secondary small" on:click=move |_| edit(&|p| {
                    let n = p.caps.len() + 1;
                    p.caps.push(Cap {
                        name: format!("Tope {n}"),
                        channels: CONTACT_CHANNELS.to_vec(),
                        window: Window::Day,
                        measure: Measure::Contacts,
                        limit: 1,
                        action: RuleAction::Block,
                    });
                })>"Agregar tope"</button>
            </fieldset>
            {action_select("reference_disclosure".into(), "Deuda, estado de cuenta o enlace de pago escritos a una referencia",
                move || policy.with(|p| p.reference_disclosure),
                move |a| policy.update(|p| p.reference_disclosure = a))}
            {feedback.view()}
            {move || saved.get().map(|m| view! { <p class="notice ok" role="status">{m}</p> })}
            <div class="actions">
                <button type="submit" disabled=move || save.pending().get()>"Guardar política"</button>
                <button type="button" class="secondary" disabled=move || !edited || reset.pending().get()
                    on:click=move |_| { feedback.clear(); reset.dispatch(reset_country.clone()); }>"Volver a la política de fábrica"</button>
            </div>
        </form>
        <Holidays country holidays=detail.holidays version />
    }
}

#[component]
fn CapFields(
    policy: RwSignal<Policy>,
    i: usize,
    errors: RwSignal<Vec<crate::domain::error::FieldError>>,
) -> impl IntoView {
    let cap = move || policy.with(|p| p.caps.get(i).cloned());
    let edit = move |f: &dyn Fn(&mut Cap)| {
        policy.update(|p| {
            if let Some(c) = p.caps.get_mut(i) {
                f(c)
            }
        })
    };
    let id = |what: &str| format!("cap_{i}_{what}");
    view! {
        <fieldset class="cap">
            <legend>{move || cap().map(|c| c.name).unwrap_or_default()}</legend>
            <div class="field">
                <label for=id("name")>"Nombre del tope"</label>
                <input id=id("name") type="text" prop:value=move || cap().map(|c| c.name).unwrap_or_default()
                    on:input=move |ev| { let v = event_target_value(&ev); edit(&|c| c.name = v.clone()) } />
                <FieldMessage errors name=id("name") />
            </div>
            <div class="field">
                <label for=id("limit")>"Límite"</label>
                <input id=id("limit") type="number" min="1" max="100"
                    prop:value=move || cap().map(|c| c.limit.to_string()).unwrap_or_default()
                    on:input=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(0); edit(&|c| c.limit = v) } />
                <FieldMessage errors name=id("limit") />
            </div>
            <div class="field">
                <label for=id("measure")>"Qué limita"</label>
                <select id=id("measure") on:change=move |ev| if let Ok(m) = event_target_value(&ev).parse() { edit(&|c| c.measure = m) }>
                    {Measure::ALL.iter().map(|m| view! {
                        <option value=m.as_str() selected=move || cap().is_some_and(|c| c.measure == *m)>{m.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for=id("window")>"En"</label>
                <select id=id("window") on:change=move |ev| if let Ok(w) = event_target_value(&ev).parse() { edit(&|c| c.window = w) }>
                    {Window::ALL.iter().map(|w| view! {
                        <option value=w.as_str() selected=move || cap().is_some_and(|c| c.window == *w)>{w.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <fieldset class="inline-group">
                <legend>"Canales que cuenta"</legend>
                {CONTACT_CHANNELS.iter().map(|ch| {
                    let ch = *ch;
                    view! {
                        <label class="inline">
                            <input type="checkbox" prop:checked=move || cap().is_some_and(|c| c.channels.contains(&ch))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    edit(&|c| { c.channels.retain(|x| *x != ch); if on { c.channels.push(ch) } });
                                } />
                            {ch.label()}
                        </label>
                    }
                }).collect_view()}
                <FieldMessage errors name=id("channels") />
            </fieldset>
            {action_select(id("action"), "Si se supera",
                move || cap().map_or(RuleAction::Block, |c| c.action),
                move |a| edit(&|c| c.action = a))}
            <button type="button" class="link small" on:click=move |_| policy.update(|p| { if i < p.caps.len() { p.caps.remove(i); } })>
                "Quitar este tope"</button>
        </fieldset>
    }
}

#[component]
fn Holidays(country: String, holidays: Vec<Holiday>, version: RwSignal<u32>) -> impl IntoView {
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let day = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let add = Action::new(move |(c, d, n): &(String, String, String)| {
        add_holiday(c.clone(), d.clone(), n.clone())
    });
    let remove = Action::new(move |(c, d): &(String, NaiveDate)| delete_holiday(c.clone(), *d));
    Effect::new(move |_| match add.value().get() {
        Some(Ok(())) => version.update(|v| *v += 1),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => version.update(|v| *v += 1),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let add_country = country.clone();
    view! {
        <section class="card" aria-labelledby="holidays-title">
            <h2 id="holidays-title">"Festivos"</h2>
            {if holidays.is_empty() {
                view! { <p class="empty">"Sin festivos cargados para este país."</p> }.into_any()
            } else {
                view! {
                    <table>
                        <thead><tr><th scope="col">"Fecha"</th><th scope="col">"Festivo"</th><th scope="col"><span class="visually-hidden">"Acciones"</span></th></tr></thead>
                        <tbody>
                            {holidays.into_iter().map(|h| {
                                let c = country.clone();
                                let d = h.day;
                                view! {
                                    <tr>
                                        <td>{h.day.format("%d/%m/%Y").to_string()}</td>
                                        <td>{h.name.clone()}</td>
                                        <td><button type="button" class="link small"
                                            aria-label=format!("Quitar festivo {} ({})", h.name, h.day.format("%d/%m/%Y"))
                                            on:click=move |_| { remove.dispatch((c.clone(), d)); }>"Quitar"</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <form class="inline-form" aria-label="Agregar festivo" on:submit=move |ev| {
                ev.prevent_default();
                feedback.clear();
                add.dispatch((add_country.clone(), day.get_untracked(), name.get_untracked()));
            }>
                <div class="field">
                    <label for="holiday_day">"Fecha"</label>
                    <input id="holiday_day" type="date" prop:value=move || day.get() on:input=move |ev| day.set(event_target_value(&ev)) />
                    <FieldMessage errors name="holiday_day" />
                </div>
                <div class="field">
                    <label for="holiday_name">"Nombre"</label>
                    <input id="holiday_name" type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                    <FieldMessage errors name="holiday_name" />
                </div>
                <button type="submit" disabled=move || add.pending().get()>"Agregar festivo"</button>
            </form>
            {feedback.view()}
        </section>
    }
}
