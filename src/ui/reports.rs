//! Interacciones (the report of every record, with its downloads) and Indicadores de
//! gestión. Both pages keep their filters in the address bar: a plain GET form, so a
//! filtered report is a link that can be shared or reloaded.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::reports::{list_interactions, load_indicators, report_choices};
use crate::domain::alerts::AlertKind;
use crate::domain::error::AppError;
use crate::domain::indicators::{
    bar_shares, bucket_label, percent, Bar, Blocked, GroupRates, IndicatorQuery, Indicators,
    Receivables,
};
use crate::domain::interactions::{
    ChannelFilter, Column, Cursor, InteractionChoices, InteractionQuery, InteractionRow,
    RecordType, StatusFilter,
};
use crate::domain::message::Origin;
use crate::domain::money::format_money;
use crate::domain::url::query_string;
use crate::ui::components::{DownloadLink, ErrorNotice};

/// A `<select>` of a GET form: "Todos" and the choices, the current one selected.
#[component]
fn Choice(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    current: Option<String>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id name=name>
                <option value="" selected=current.is_none()>"Todos"</option>
                {options.into_iter().map(|(value, text)| {
                    let selected = current.as_deref() == Some(value.as_str());
                    view! { <option value=value selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

fn people(list: &[(i64, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(id, n)| (id.to_string(), n.clone()))
        .collect()
}

#[component]
fn PeriodFields(from: Option<String>, to: Option<String>) -> impl IntoView {
    view! {
        <div class="field">
            <label for="desde">"Desde"</label>
            <input id="desde" name="desde" type="date" value=from />
        </div>
        <div class="field">
            <label for="hasta">"Hasta"</label>
            <input id="hasta" name="hasta" type="date" value=to />
        </div>
    }
}

#[component]
pub fn InteractionsPage() -> impl IntoView {
    let query_map = use_query_map();
    let parsed =
        Memo::new(move |_| query_map.with(|m| InteractionQuery::from_params(|k| m.get(k))));
    let first = Resource::new(
        move || parsed.get(),
        |q| async move {
            match q {
                Ok(q) => list_interactions(q).await,
                Err(e) => Err(AppError::invalid("query", e)),
            }
        },
    );
    let choices = Resource::new(|| (), |_| report_choices());
    let more = RwSignal::new(Vec::<InteractionRow>::new());
    let more_next = RwSignal::new(None::<Option<Cursor>>);
    Effect::new(move |_| {
        parsed.track();
        more.set(Vec::new());
        more_next.set(None);
    });
    let load_more = Action::new(move |cursor: &Cursor| {
        let q = parsed.get_untracked().map(|q| InteractionQuery {
            after: Some(*cursor),
            ..q
        });
        async move {
            match q {
                Ok(q) => list_interactions(q).await,
                Err(e) => Err(AppError::invalid("query", e)),
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(page)) = load_more.value().get() {
            more.update(|rows| rows.extend(page.rows));
            more_next.set(Some(page.next));
        }
    });
    let query = move || parsed.get().unwrap_or_default();
    let columns = move || query().shown_columns();
    let download = move |format: &str| {
        let q = query_string(&query().params());
        if q.is_empty() {
            format!("/api/interactions/export?formato={format}")
        } else {
            format!("/api/interactions/export?{q}&formato={format}")
        }
    };

    view! {
        <Title text="Interacciones · Recaudo" />
        <div class="page-head">
            <h1>"Interacciones"</h1>
            <div class="actions">
                <DownloadLink href=Signal::derive(move || download("csv")) label="Descargar CSV" />
                <DownloadLink href=Signal::derive(move || download("xlsx")) label="Descargar Excel" />
            </div>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Cargando filtros…"</p> }>
            {move || Suspend::new(async move {
                match choices.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(choices) => {
                        let q = query();
                        view! { <InteractionFilters q choices /> }.into_any()
                    }
                }
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="loading">"Cargando interacciones…"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(page) => {
                        let cols = columns();
                        let first_next = page.next;
                        let next = move || more_next.get().unwrap_or(first_next);
                        let empty = page.rows.is_empty();
                        let period = match (page.from, page.to) {
                            (Some(f), Some(t)) => format!("Del {f} al {t}"),
                            _ => String::new(),
                        };
                        let head = cols.clone();
                        let body_cols = cols.clone();
                        let more_cols = cols.clone();
                        view! {
                            <p class="hint">{period}</p>
                            // Focusable so a keyboard can scroll its columns sideways.
                            <div class="table-scroll" tabindex="0" role="region" aria-label="Interacciones">
                                <table class="interactions">
                                    <caption class="visually-hidden">"Interacciones"</caption>
                                    <thead>
                                        <tr>{head.into_iter().map(|c| view! { <th scope="col">{c.label()}</th> }).collect_view()}</tr>
                                    </thead>
                                    <tbody>
                                        {page.rows.into_iter().map(|row| view! { <Row row cols=body_cols.clone() /> }).collect_view()}
                                        {move || more.get().into_iter().map(|row| view! { <Row row cols=more_cols.clone() /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <Show when=move || empty>
                                <p class="empty">"No hay interacciones con estos filtros en el período."</p>
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
fn Row(row: InteractionRow, cols: Vec<Column>) -> impl IntoView {
    let client = row.client_id;
    view! {
        <tr>
            {cols.into_iter().map(|c| {
                let text = row.cell(c);
                let class = format!("col-{}", c.as_str());
                if c == Column::Client {
                    view! { <td class=class><a href=format!("/conversaciones/{client}")>{text}</a></td> }.into_any()
                } else {
                    view! { <td class=class>{text}</td> }.into_any()
                }
            }).collect_view()}
        </tr>
    }
}

#[component]
fn InteractionFilters(q: InteractionQuery, choices: InteractionChoices) -> impl IntoView {
    let shown = RwSignal::new(q.shown_columns());
    let types: Vec<(String, String)> = RecordType::ALL
        .iter()
        .map(|t| (t.as_str().to_string(), t.label().to_string()))
        .collect();
    let channels: Vec<(String, String)> = ChannelFilter::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.label().to_string()))
        .collect();
    let statuses: Vec<(String, String)> = StatusFilter::all()
        .into_iter()
        .map(|s| (s.as_str().to_string(), s.label()))
        .collect();
    let origins: Vec<(String, String)> = Origin::ALL
        .iter()
        .map(|o| (o.as_str().to_string(), o.label().to_string()))
        .collect();
    // The hidden field carries the chosen columns: the shown ones keep their places, a
    // column switched on goes last.
    let columns_value =
        move || shown.with(|s| s.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","));
    view! {
        <form class="toolbar filters" method="get" action="/interacciones" role="search" aria-label="Filtros de interacciones">
            <PeriodFields from=q.from.map(|d| d.to_string()) to=q.to.map(|d| d.to_string()) />
            <Choice id="tipo" name="tipo" label="Tipo" options=types current=q.record_type.map(|t| t.as_str().to_string()) />
            <Choice id="canal" name="canal" label="Canal" options=channels current=q.channel.map(|c| c.as_str().to_string()) />
            <Choice id="estado" name="estado" label="Estado" options=statuses current=q.status.map(|s| s.as_str().to_string()) />
            <Choice id="asesor" name="asesor" label="Asesor" options=people(&choices.advisors) current=q.advisor_id.map(|i| i.to_string()) />
            <Choice id="supervisor" name="supervisor" label="Supervisor" options=people(&choices.supervisors) current=q.supervisor_id.map(|i| i.to_string()) />
            <Choice id="segmento" name="segmento" label="Segmento" options=people(&choices.segments) current=q.segment_id.map(|i| i.to_string()) />
            <Choice id="origen" name="origen" label="Origen" options=origins current=q.origin.map(|o| o.as_str().to_string()) />
            <details class="columns">
                <summary>"Columnas"</summary>
                <fieldset>
                    <legend>"Columnas visibles"</legend>
                    {Column::ALL.iter().map(|c| {
                        let c = *c;
                        view! {
                            <label class="check">
                                <input type="checkbox" aria-label=format!("Mostrar la columna {}", c.label())
                                    prop:checked=move || shown.with(|s| s.contains(&c))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        shown.update(|s| {
                                            if on { if !s.contains(&c) { s.push(c); } } else { s.retain(|x| *x != c); }
                                        });
                                    } />
                                {c.label()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            </details>
            <input type="hidden" name="columnas" prop:value=columns_value />
            <button type="submit">"Aplicar filtros"</button>
        </form>
    }
}

/// A horizontal bar chart drawn in SVG, its numbers in its accessible name and, beside
/// it, in a table for whoever prefers to read them.
#[component]
pub fn BarChart(title: String, bars: Vec<Bar>) -> impl IntoView {
    const LABEL: f64 = 290.0;
    const LENGTH: f64 = 320.0;
    const ROW: f64 = 30.0;
    let shares = bar_shares(&bars);
    let height = ROW * bars.len().max(1) as f64 + 6.0;
    let summary = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, b.text))
        .collect::<Vec<_>>()
        .join("; ");
    let name = format!("{title}. {summary}");
    let rows = bars.clone();
    view! {
        <figure class="chart">
            <figcaption>{title.clone()}</figcaption>
            <svg role="img" aria-label=name viewBox=format!("0 0 {} {height}", LABEL + LENGTH + 200.0)
                preserveAspectRatio="xMinYMin meet">
                {bars.into_iter().zip(shares).enumerate().map(|(i, (b, share))| {
                    let y = i as f64 * ROW + 4.0;
                    let w = (share * LENGTH).max(if b.value > 0.0 { 2.0 } else { 0.0 });
                    view! {
                        <g>
                            <text x=LABEL - 8.0 y=y + ROW * 0.6 text-anchor="end" class="chart-label">{b.label}</text>
                            <rect x=LABEL y=y + 4.0 width=w height=ROW - 10.0 rx="3" class="chart-bar" />
                            <text x=LABEL + w + 6.0 y=y + ROW * 0.6 class="chart-value">{b.text}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
            <table class="chart-data">
                <caption class="visually-hidden">{title}</caption>
                <tbody>
                    {rows.into_iter().map(|b| view! {
                        <tr><th scope="row">{b.label}</th><td class="num">{b.text}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </figure>
    }
}

fn count_bar(label: &str, n: i64) -> Bar {
    Bar {
        label: label.to_string(),
        value: n as f64,
        text: n.to_string(),
    }
}

#[component]
pub fn IndicatorsPage() -> impl IntoView {
    let query_map = use_query_map();
    let parsed = Memo::new(move |_| query_map.with(|m| IndicatorQuery::from_params(|k| m.get(k))));
    let data = Resource::new(
        move || parsed.get(),
        |q| async move {
            match q {
                Ok(q) => load_indicators(q).await,
                Err(e) => Err(AppError::invalid("query", e)),
            }
        },
    );
    let choices = Resource::new(|| (), |_| report_choices());
    view! {
        <Title text="Indicadores de gestión · Recaudo" />
        <div class="page-head"><h1>"Indicadores de gestión"</h1></div>
        <Transition fallback=|| view! { <p class="loading">"Cargando filtros…"</p> }>
            {move || Suspend::new(async move {
                let choices = match choices.await {
                    Err(error) => return view! { <ErrorNotice error /> }.into_any(),
                    Ok(choices) => choices,
                };
                let q = parsed.get().unwrap_or_default();
                view! {
                    <form class="toolbar filters" method="get" action="/indicadores" role="search" aria-label="Filtros de indicadores">
                        <PeriodFields from=q.from.map(|d| d.to_string()) to=q.to.map(|d| d.to_string()) />
                        <Choice id="asesor" name="asesor" label="Asesor" options=people(&choices.advisors) current=q.advisor_id.map(|i| i.to_string()) />
                        <Choice id="supervisor" name="supervisor" label="Equipo (supervisor)" options=people(&choices.supervisors) current=q.supervisor_id.map(|i| i.to_string()) />
                        <button type="submit">"Aplicar filtros"</button>
                    </form>
                }
                .into_any()
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="loading">"Calculando indicadores…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(ind) => view! { <IndicatorsView ind /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn IndicatorsView(ind: Indicators) -> impl IntoView {
    let period = match (ind.from, ind.to) {
        (Some(f), Some(t)) => {
            format!("Contactos y compromisos del {f} al {t}; cartera al día de hoy.")
        }
        _ => String::new(),
    };
    let contact: Vec<Bar> = ind
        .contactability
        .iter()
        .map(|(c, n)| count_bar(c.label(), *n))
        .collect();
    let alerts: Vec<Bar> = ind
        .alerts
        .iter()
        .map(|(k, n)| {
            let label = match k {
                AlertKind::Contactability => "Problema de contactabilidad",
                other => other.label(),
            };
            count_bar(label, *n)
        })
        .collect();
    let rpc: Vec<Bar> = ind
        .advisors
        .iter()
        .map(|g| Bar {
            label: g.name.clone(),
            value: g.rates.right_party_rate().unwrap_or(0.0),
            text: percent(g.rates.right_party_rate()),
        })
        .collect();
    let total = ind.total;
    view! {
        <p class="hint">{period}</p>
        <section aria-labelledby="ind-cartera">
            <h2 id="ind-cartera">{format!("Cartera: {} clientes", ind.clients)}</h2>
            <div class="charts">
                <BarChart title="Contactabilidad".to_string() bars=contact />
                <BarChart title="Alertas por tipo".to_string() bars=alerts />
            </div>
        </section>
        <section aria-labelledby="ind-tasas">
            <h2 id="ind-tasas">"Contacto y compromisos"</h2>
            <dl class="kpis">
                <div><dt>"Tasa de contacto con el titular"</dt><dd>{percent(total.right_party_rate())}</dd></div>
                <div><dt>"Tasa de compromiso"</dt><dd>{percent(total.promise_rate())}</dd></div>
                <div><dt>"Tasa de cumplimiento de compromisos"</dt><dd>{percent(total.kept_rate())}</dd></div>
            </dl>
            <BarChart title="Tasa de contacto con el titular por asesor".to_string() bars=rpc />
            <RatesTable caption="Por asesor" who="Asesor" groups=ind.advisors />
            <RatesTable caption="Por equipo de supervisor" who="Equipo" groups=ind.teams />
        </section>
        <BlockedView blocked=ind.blocked />
        <section aria-labelledby="ind-vencida">
            <h2 id="ind-vencida">"Cartera vencida y pagos a verificar"</h2>
            {ind.receivables.into_iter().map(|r| view! { <ReceivablesView r /> }).collect_view()}
        </section>
    }
}

#[component]
fn BlockedView(blocked: Blocked) -> impl IntoView {
    let bars = |counts: &[(String, i64)]| -> Vec<Bar> {
        counts.iter().map(|(name, n)| count_bar(name, *n)).collect()
    };
    let by_advisor = bars(&blocked.by_advisor);
    let by_rule = bars(&blocked.by_rule);
    view! {
        <section aria-labelledby="ind-politica">
            <h2 id="ind-politica">"Contactos bloqueados por política"</h2>
            <dl class="kpis">
                <div><dt>"Intentos bloqueados en el periodo"</dt><dd>{blocked.total}</dd></div>
            </dl>
            <div class="charts">
                <BarChart title="Bloqueos por asesor".to_string() bars=by_advisor />
                <BarChart title="Bloqueos por regla".to_string() bars=by_rule />
            </div>
        </section>
    }
}

#[component]
fn RatesTable(caption: &'static str, who: &'static str, groups: Vec<GroupRates>) -> impl IntoView {
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label=caption>
            <table class="rates">
                <caption>{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">{who}</th>
                        <th scope="col" class="num">"Gestiones"</th>
                        <th scope="col" class="num">"Contacto con el titular"</th>
                        <th scope="col" class="num">"Tasa de contacto"</th>
                        <th scope="col" class="num">"Compromisos"</th>
                        <th scope="col" class="num">"Tasa de compromiso"</th>
                        <th scope="col" class="num">"Cumplidos"</th>
                        <th scope="col" class="num">"Incumplidos"</th>
                        <th scope="col" class="num">"Tasa de cumplimiento"</th>
                    </tr>
                </thead>
                <tbody>
                    {groups.into_iter().map(|g| {
                        let r = g.rates;
                        view! {
                            <tr>
                                <th scope="row">{g.name}</th>
                                <td class="num">{r.outcomes}</td>
                                <td class="num">{r.right_party}</td>
                                <td class="num">{percent(r.right_party_rate())}</td>
                                <td class="num">{r.promises}</td>
                                <td class="num">{percent(r.promise_rate())}</td>
                                <td class="num">{r.kept}</td>
                                <td class="num">{r.broken}</td>
                                <td class="num">{percent(r.kept_rate())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn ReceivablesView(r: Receivables) -> impl IntoView {
    let cur = r.currency.clone();
    let dso = r
        .dso()
        .map(|d| format!("{d:.1} días").replace('.', ","))
        .unwrap_or_else(|| "—".to_string());
    let aging: Vec<Bar> = r
        .buckets
        .iter()
        .enumerate()
        .map(|(i, cents)| Bar {
            label: bucket_label(i),
            value: *cents as f64,
            text: format_money(*cents, &cur),
        })
        .collect();
    view! {
        <h3>{cur.clone()}</h3>
        <dl class="kpis">
            <div><dt>"Deuda vencida"</dt><dd>{format_money(r.overdue_cents, &cur)}</dd></div>
            <div><dt>"DSO (vencido ÷ vencimientos de los últimos 90 días × 90)"</dt><dd>{dso}</dd></div>
            <div><dt>"Pagos a verificar pendientes"</dt>
                <dd>{format!("{} · {}", r.to_verify, format_money(r.to_verify_cents, &cur))}</dd></div>
        </dl>
        <BarChart title=format!("Antigüedad de la deuda vencida ({cur})") bars=aging />
    }
}
