//! Estrategias: the segment builder with its live count, the main flow, events,
//! campaigns, and running the scheduler by hand. Forms holding resources of their own
//! (the live counts) open on a button, never during hydration: a resource created
//! inside a resolved `Suspend` would not find its server-side value.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::automation::{
    cancel_campaign, count_segment, create_campaign, delete_event, delete_flow, delete_segment,
    list_campaigns, list_events, list_flows, list_segments, load_automation_settings,
    run_scheduler, save_automation_settings, save_event, save_flow, save_segment, segment_choices,
};
use crate::api::templates::list_templates;
use crate::domain::automation::{
    step_day_label, AutomationSettings, CampaignInput, CampaignState, ContactHours, EventRuleInput,
    Flow, FlowInput, FlowStepInput, Trigger, WEEKDAYS,
};
use crate::domain::error::AppError;
use crate::domain::segments::{
    Condition, Connector, Op, Rule, Segment, SegmentInput, SegmentOptions, ValueKind, Variable,
};
use crate::domain::templates::Template;
use crate::ui::components::{fmt_datetime, ErrorNotice, FieldMessage, FormFeedback};

#[component]
fn StrategyTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Estrategias">
            <a href="/estrategias/segmentos">"Segmentos"</a>
            <a href="/estrategias/flujos">"Flujo principal"</a>
            <a href="/estrategias/eventos">"Eventos"</a>
            <a href="/estrategias/campanas">"Campañas"</a>
            <a href="/estrategias/plantillas">"Plantillas"</a>
        </nav>
    }
}

/// The node at `path` (child indexes from the top group).
fn node_mut<'a>(rule: &'a mut Rule, path: &[usize]) -> Option<&'a mut Rule> {
    match path.split_first() {
        None => Some(rule),
        Some((i, rest)) => match rule {
            Rule::Group { rules, .. } => rules.get_mut(*i).and_then(|r| node_mut(r, rest)),
            Rule::Condition(_) => None,
        },
    }
}

/// The rule without its typed values: the builder is drawn again only when this
/// changes, so typing a value never takes the focus away.
fn shape(rule: &Rule) -> String {
    match rule {
        Rule::Condition(c) => format!("c{}", c.variable.as_str()),
        Rule::Group { rules, .. } => {
            format!(
                "g[{}]",
                rules.iter().map(shape).collect::<Vec<_>>().join(",")
            )
        }
    }
}

fn new_condition(options: &SegmentOptions, variable: Variable) -> Rule {
    let value = match variable.kind() {
        ValueKind::Choice | ValueKind::YesNo => options
            .choices(variable)
            .first()
            .map(|(v, _)| v.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    Rule::Condition(Condition {
        variable,
        op: variable.ops()[if variable.ops().len() > 2 { 2 } else { 0 }],
        value,
    })
}

/// Draws a group and what it holds; `counter` numbers conditions and subgroups in the
/// order the checker counts them.
fn group_view(
    rule: RwSignal<Rule>,
    node: &Rule,
    path: Vec<usize>,
    options: &SegmentOptions,
    counter: &mut (usize, usize),
) -> AnyView {
    let Rule::Group { connector, rules } = node else {
        return ().into_any();
    };
    let name = if path.is_empty() {
        "grupo principal".to_string()
    } else {
        counter.1 += 1;
        format!("subgrupo {}", counter.1)
    };
    let mut children = Vec::new();
    for (i, child) in rules.iter().enumerate() {
        let mut child_path = path.clone();
        child_path.push(i);
        children.push(match child {
            Rule::Group { .. } => group_view(rule, child, child_path, options, counter),
            Rule::Condition(c) => {
                counter.0 += 1;
                condition_view(rule, c, child_path, options, counter.0)
            }
        });
    }
    let update = move |path: Vec<usize>, f: Box<dyn FnOnce(&mut Rule)>| {
        rule.update(|r| {
            if let Some(n) = node_mut(r, &path) {
                f(n);
            }
        })
    };
    let opts = options.clone();
    let (p1, p2, p3, p4) = (path.clone(), path.clone(), path.clone(), path.clone());
    let connector_now = *connector;
    view! {
        <fieldset class="rule-group">
            <legend>{format!("Condiciones del {name}")}</legend>
            <label class="inline">
                "Unir con "
                <select aria-label=format!("Conector del {name}") on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if let Ok(c) = v.parse::<Connector>() {
                        update(p1.clone(), Box::new(move |n| if let Rule::Group { connector, .. } = n { *connector = c }));
                    }
                }>
                    {Connector::ALL.iter().map(|c| view! {
                        <option value=c.as_str() selected=*c == connector_now>{c.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <div class="rule-children">{children}</div>
            <div class="actions">
                <button type="button" class="secondary" on:click={
                    let opts = opts.clone();
                    move |_| {
                        let c = new_condition(&opts, Variable::DaysOverdue);
                        update(p2.clone(), Box::new(move |n| if let Rule::Group { rules, .. } = n { rules.push(c) }));
                    }
                }>{format!("Añadir condición ({name})")}</button>
                <button type="button" class="secondary" on:click={
                    let opts = opts.clone();
                    move |_| {
                        let g = Rule::Group { connector: Connector::Or, rules: vec![new_condition(&opts, Variable::DaysOverdue)] };
                        update(p3.clone(), Box::new(move |n| if let Rule::Group { rules, .. } = n { rules.push(g) }));
                    }
                }>{format!("Añadir subgrupo ({name})")}</button>
                {(!p4.is_empty()).then(|| {
                    let name = name.clone();
                    view! {
                        <button type="button" class="link" on:click=move |_| remove_at(rule, &p4)>{format!("Quitar {name}")}</button>
                    }
                })}
            </div>
        </fieldset>
    }
    .into_any()
}

fn remove_at(rule: RwSignal<Rule>, path: &[usize]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let parent = parent.to_vec();
    let last = *last;
    rule.update(|r| {
        if let Some(Rule::Group { rules, .. }) = node_mut(r, &parent) {
            if last < rules.len() {
                rules.remove(last);
            }
        }
    });
}

fn condition_view(
    rule: RwSignal<Rule>,
    c: &Condition,
    path: Vec<usize>,
    options: &SegmentOptions,
    n: usize,
) -> AnyView {
    let set = move |path: Vec<usize>, f: Box<dyn FnOnce(&mut Condition)>| {
        rule.update(|r| {
            if let Some(Rule::Condition(c)) = node_mut(r, &path) {
                f(c);
            }
        })
    };
    let (p1, p2, p3, p4) = (path.clone(), path.clone(), path.clone(), path);
    let opts = options.clone();
    let variable = c.variable;
    let value_input = match variable.kind() {
        ValueKind::Choice | ValueKind::YesNo => {
            let current = c.value.clone();
            view! {
                <select aria-label=format!("Valor de la condición {n}") on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set(p3.clone(), Box::new(move |c| c.value = v));
                }>
                    {options.choices(variable).into_iter().map(|(v, l)| {
                        let selected = v == current;
                        view! { <option value=v selected=selected>{l}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        kind => {
            let hint = match kind {
                ValueKind::Money => "Monto, p. ej. 1.500,00",
                _ => "Número",
            };
            view! {
                <input type="text" inputmode="decimal" aria-label=format!("Valor de la condición {n}")
                    placeholder=hint prop:value=c.value.clone()
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        set(p3.clone(), Box::new(move |c| c.value = v));
                    } />
            }
            .into_any()
        }
    };
    let op_now = c.op;
    view! {
        <div class="rule-condition" role="group" aria-label=format!("Condición {n}")>
            <span class="rule-number">{n}</span>
            <select aria-label=format!("Variable de la condición {n}") on:change=move |ev| {
                if let Ok(v) = event_target_value(&ev).parse::<Variable>() {
                    let fresh = new_condition(&opts, v);
                    rule.update(|r| if let Some(node) = node_mut(r, &p1) { *node = fresh });
                }
            }>
                {Variable::ALL.iter().map(|v| view! {
                    <option value=v.as_str() selected=*v == variable>{v.label()}</option>
                }).collect_view()}
            </select>
            <select aria-label=format!("Operador de la condición {n}") on:change=move |ev| {
                if let Ok(op) = event_target_value(&ev).parse::<Op>() {
                    set(p2.clone(), Box::new(move |c| c.op = op));
                }
            }>
                {variable.ops().iter().map(|o| view! {
                    <option value=o.as_str() selected=*o == op_now>{o.label()}</option>
                }).collect_view()}
            </select>
            {value_input}
            <button type="button" class="link" on:click=move |_| remove_at(rule, &p4)>{format!("Quitar condición {n}")}</button>
        </div>
    }
    .into_any()
}

/// The rule builder and its live count.
#[component]
fn RuleBuilder(rule: RwSignal<Rule>, options: SegmentOptions) -> impl IntoView {
    let outline = Memo::new(move |_| rule.with(shape));
    let count = Resource::new(move || rule.get(), count_segment);
    view! {
        <div class="rule-builder">
            {move || {
                // Read, not only tracked: a memo nobody has read yet has no sources.
                outline.with(|_| ());
                let current = rule.get_untracked();
                let mut counter = (0, 0);
                group_view(rule, &current, Vec::new(), &options, &mut counter)
            }}
        </div>
        <p class="live-count" aria-live="polite">
            <Transition fallback=|| "Contando…">
                {move || Suspend::new(async move {
                    match count.await {
                        Ok(n) => view! { <strong>{format!("{n} clientes cumplen estas condiciones hoy")}</strong> }.into_any(),
                        Err(AppError::Invalid(list)) => view! {
                            <ul class="notice error">{list.into_iter().map(|e| view! { <li>{e.message}</li> }).collect_view()}</ul>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </p>
    }
}

#[component]
pub fn SegmentsPage() -> impl IntoView {
    let version = RwSignal::new(0u64);
    let segments = Resource::new(move || version.get(), |_| list_segments());
    let options = Resource::new(|| (), |_| segment_choices());
    let editing = RwSignal::new(None::<Option<Segment>>);
    let done = Callback::new(move |()| {
        editing.set(None);
        version.update(|v| *v += 1);
    });
    view! {
        <Title text="Segmentos · Recaudo" />
        <StrategyTabs />
        <div class="page-head">
            <h1>"Segmentos"</h1>
            <div class="actions">
                <Show when=move || editing.get().is_none()>
                    <button type="button" on:click=move |_| editing.set(Some(None))>"Nuevo segmento"</button>
                </Show>
            </div>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let options = match options.await {
                    Ok(o) => o,
                    Err(error) => return view! { <ErrorNotice error /> }.into_any(),
                };
                editing.get().map(|s| view! { <SegmentForm segment=s options done /> }.into_any()).unwrap_or_else(|| ().into_any())
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="loading">"Cargando segmentos…"</p> }>
            {move || Suspend::new(async move {
                match segments.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Aún no hay segmentos."</p> }.into_any(),
                    Ok(list) => view! {
                        <table>
                            <caption class="visually-hidden">"Segmentos"</caption>
                            <thead><tr><th scope="col">"Nombre"</th><th scope="col">"Condiciones"</th><th scope="col">"Acciones"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|s| {
                                    let id = s.id;
                                    let edit = s.clone();
                                    let remove = Action::new(move |_: &()| delete_segment(id));
                                    Effect::new(move |_| if let Some(Ok(())) = remove.value().get() { done.run(()) });
                                    view! {
                                        <tr>
                                            <td>{s.name.clone()}</td>
                                            <td class="small">{s.summary.clone()}</td>
                                            <td>
                                                <button type="button" class="link" on:click=move |_| editing.set(Some(Some(edit.clone())))>"Editar"</button>
                                                " "
                                                <button type="button" class="link" on:click=move |_| { remove.dispatch(()); }>"Eliminar"</button>
                                                {move || remove.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                                            </td>
                                        </tr>
                                    }
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
fn SegmentForm(
    segment: Option<Segment>,
    options: SegmentOptions,
    done: Callback<()>,
) -> impl IntoView {
    let id = segment.as_ref().map(|s| s.id);
    let name = RwSignal::new(segment.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    let rule = RwSignal::new(segment.map(|s| s.rule).unwrap_or_default());
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let save = Action::new(move |i: &SegmentInput| save_segment(id, i.clone()));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => done.run(()),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    view! {
        <form class="card" aria-label=if id.is_some() { "Editar segmento" } else { "Nuevo segmento" }
            on:submit=move |ev| {
                ev.prevent_default();
                feedback.clear();
                save.dispatch(SegmentInput { name: name.get_untracked(), rule: rule.get_untracked() });
            }>
            <div class="field">
                <label for="segment-name">"Nombre del segmento"</label>
                <input id="segment-name" type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <FieldMessage errors name="name" />
            </div>
            <RuleBuilder rule options />
            <FieldMessage errors name="rule" />
            {feedback.view()}
            <div class="actions">
                <button type="submit" disabled=move || save.pending().get()>"Guardar segmento"</button>
                <button type="button" class="secondary" on:click=move |_| done.run(())>"Cancelar"</button>
            </div>
        </form>
    }
}

fn template_label(t: &Template) -> String {
    format!("Plantilla «{}» ({})", t.name, t.channel.label())
}

/// Loads the segments and templates a form chooses from, then shows it. Forms open on
/// a button, so this never runs during hydration.
#[component]
fn WithLists(form: Callback<(Vec<Segment>, Vec<Template>), AnyView>) -> impl IntoView {
    let lists = Resource::new(
        || (),
        |_| async { Ok::<_, AppError>((list_segments().await?, list_templates().await?)) },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Cargando segmentos y plantillas…"</p> }>
            {move || Suspend::new(async move {
                match lists.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(lists) => form.run(lists),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn FlowsPage() -> impl IntoView {
    let version = RwSignal::new(0u64);
    let flows = Resource::new(move || version.get(), |_| list_flows());
    let editing = RwSignal::new(None::<Option<Flow>>);
    let done = Callback::new(move |()| {
        editing.set(None);
        version.update(|v| *v += 1);
    });
    view! {
        <Title text="Flujo principal · Recaudo" />
        <StrategyTabs />
        <div class="page-head">
            <h1>"Flujo principal"</h1>
            <div class="actions">
                <Show when=move || editing.get().is_none()>
                    <button type="button" on:click=move |_| editing.set(Some(None))>"Nuevo flujo"</button>
                </Show>
            </div>
        </div>
        <p class="small">"Cada cliente sigue el primer flujo (por orden) cuyo segmento lo incluye. Los pasos caen en días contados desde su vencimiento impago más antiguo. Los clientes con compromiso de pago vigente, pago a verificar, comunicaciones pausadas o gestión «No quiere / No puede pagar» no reciben el flujo; sí reciben los eventos."</p>
        {move || editing.get().map(|flow| view! { <WithLists form=Callback::new(move |(segments, templates)| view! { <FlowForm flow=flow.clone() segments templates done /> }.into_any()) /> })}
        <Transition fallback=|| view! { <p class="loading">"Cargando flujos…"</p> }>
            {move || Suspend::new(async move {
                match flows.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Aún no hay flujos."</p> }.into_any(),
                    Ok(list) => list.into_iter().map(|f| {
                        let id = f.id;
                        let edit = f.clone();
                        let remove = Action::new(move |_: &()| delete_flow(id));
                        Effect::new(move |_| if let Some(Ok(())) = remove.value().get() { done.run(()) });
                        view! {
                            <section class="card" aria-label=format!("Flujo {}", f.name)>
                                <h2>{format!("{}. {}", f.position, f.name)}{(!f.active).then_some(" (inactivo)")}</h2>
                                <p class="small">{format!("Segmento: {}", f.segment_name)}</p>
                                <ol>
                                    {f.steps.into_iter().map(|s| view! { <li>{format!("{} · enviados: {}", s.action, s.sent)}</li> }).collect_view()}
                                </ol>
                                <button type="button" class="link" on:click=move |_| editing.set(Some(Some(edit.clone())))>"Editar"</button>
                                " "
                                <button type="button" class="link" on:click=move |_| { remove.dispatch(()); }>"Eliminar"</button>
                            </section>
                        }
                    }).collect_view().into_any(),
                }
            })}
        </Transition>
        <SchedulerCard />
        <SettingsCard />
    }
}

#[component]
fn FlowForm(
    flow: Option<Flow>,
    segments: Vec<Segment>,
    templates: Vec<Template>,
    done: Callback<()>,
) -> impl IntoView {
    let id = flow.as_ref().map(|f| f.id);
    let input = RwSignal::new(match &flow {
        Some(f) => FlowInput {
            name: f.name.clone(),
            segment_id: Some(f.segment_id),
            position: f.position,
            active: f.active,
            steps: f
                .steps
                .iter()
                .map(|s| FlowStepInput {
                    day: s.day,
                    template_id: s.template_id,
                })
                .collect(),
        },
        None => FlowInput {
            name: String::new(),
            segment_id: segments.first().map(|s| s.id),
            position: 1,
            active: true,
            steps: vec![FlowStepInput {
                day: 1,
                template_id: templates.first().map(|t| t.id),
            }],
        },
    });
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let save = Action::new(move |i: &FlowInput| save_flow(id, i.clone()));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => done.run(()),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let step_count = Memo::new(move |_| input.with(|i| i.steps.len()));
    let current = input.get_untracked();
    view! {
        <form class="card" aria-label=if id.is_some() { "Editar flujo" } else { "Nuevo flujo" }
            on:submit=move |ev| {
                ev.prevent_default();
                feedback.clear();
                save.dispatch(input.get_untracked());
            }>
            <div class="field-row">
                <div class="field">
                    <label for="flow-name">"Nombre del flujo"</label>
                    <input id="flow-name" type="text" prop:value=move || input.with(|i| i.name.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); input.update(|i| i.name = v) } />
                    <FieldMessage errors name="name" />
                </div>
                <div class="field">
                    <label for="flow-segment">"Segmento"</label>
                    <select id="flow-segment" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); input.update(|i| i.segment_id = v) }>
                        {segments.iter().map(|s| view! { <option value=s.id.to_string() selected=Some(s.id) == current.segment_id>{s.name.clone()}</option> }).collect_view()}
                    </select>
                    <FieldMessage errors name="segment" />
                </div>
                <div class="field">
                    <label for="flow-position">"Orden"</label>
                    <input id="flow-position" type="number" min="1" prop:value=current.position.to_string()
                        on:input=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(0); input.update(|i| i.position = v) } />
                    <FieldMessage errors name="position" />
                </div>
            </div>
            <label class="inline">
                <input type="checkbox" prop:checked=current.active on:change=move |ev| { let v = event_target_checked(&ev); input.update(|i| i.active = v) } />
                "Activo"
            </label>
            <fieldset>
                <legend>"Pasos (días desde el vencimiento; negativo: antes)"</legend>
                {move || {
                    step_count.with(|_| ());
                    let steps = input.get_untracked().steps;
                    let templates = templates.clone();
                    steps.into_iter().enumerate().map(|(i, s)| {
                        let n = i + 1;
                        view! {
                            <div class="rule-condition" role="group" aria-label=format!("Paso {n}")>
                                <input type="number" aria-label=format!("Día del paso {n}") prop:value=s.day.to_string()
                                    on:input=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(i32::MIN); input.update(|f| if let Some(st) = f.steps.get_mut(i) { st.day = v }) } />
                                <select aria-label=format!("Acción del paso {n}") on:change=move |ev| {
                                    let v = event_target_value(&ev).parse().ok();
                                    input.update(|f| if let Some(st) = f.steps.get_mut(i) { st.template_id = v });
                                }>
                                    <option value="" selected=s.template_id.is_none()>"Programar llamada (bandeja Llamadas)"</option>
                                    {templates.iter().map(|t| view! { <option value=t.id.to_string() selected=s.template_id == Some(t.id)>{template_label(t)}</option> }).collect_view()}
                                </select>
                                <span class="small">{step_day_label(s.day)}</span>
                                <button type="button" class="link" on:click=move |_| input.update(|f| { if i < f.steps.len() { f.steps.remove(i); } })>{format!("Quitar paso {n}")}</button>
                            </div>
                        }
                    }).collect_view()
                }}
                <button type="button" class="secondary" on:click=move |_| input.update(|f| f.steps.push(FlowStepInput { day: 0, template_id: None }))>"Añadir paso"</button>
                <FieldMessage errors name="steps" />
            </fieldset>
            {feedback.view()}
            <div class="actions">
                <button type="submit" disabled=move || save.pending().get()>"Guardar flujo"</button>
                <button type="button" class="secondary" on:click=move |_| done.run(())>"Cancelar"</button>
            </div>
        </form>
    }
}

#[component]
fn SchedulerCard() -> impl IntoView {
    let run = Action::new(|_: &()| run_scheduler());
    view! {
        <section class="card" aria-label="Programador">
            <h2>"Programador"</h2>
            <p class="small">"El servidor lo ejecuta cada minuto: envía los pasos del día, los eventos, las campañas programadas y el canal alternativo. Nada se envía dos veces."</p>
            <button type="button" on:click=move |_| { run.dispatch(()); } disabled=move || run.pending().get()>"Ejecutar programador ahora"</button>
            {move || run.value().get().map(|r| match r {
                Ok(report) => view! { <p class="notice" role="status">{report.describe()}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn SettingsCard() -> impl IntoView {
    let settings = Resource::new(|| (), |_| load_automation_settings());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(s) => view! { <SettingsForm settings=s /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SettingsForm(settings: AutomationSettings) -> impl IntoView {
    let days = RwSignal::new(settings.contact.days);
    let start = RwSignal::new(settings.contact.start.format("%H:%M").to_string());
    let end = RwSignal::new(settings.contact.end.format("%H:%M").to_string());
    let enabled = RwSignal::new(settings.fallback_enabled);
    let body = RwSignal::new(settings.fallback_body.clone());
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let saved = RwSignal::new(false);
    let save = Action::new(move |s: &AutomationSettings| save_automation_settings(s.clone()));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => saved.set(true),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    view! {
        <form class="card" aria-label="Horario de contacto y canal alternativo" on:submit=move |ev| {
            ev.prevent_default();
            feedback.clear();
            saved.set(false);
            let contact = match ContactHours::parse(
                &ContactHours { days: days.get_untracked(), ..ContactHours::default() }.days_text(),
                &start.get_untracked(),
                &end.get_untracked(),
            ) {
                Ok(c) => c,
                Err(e) => { feedback.fields(e); return; }
            };
            save.dispatch(AutomationSettings { contact, fallback_enabled: enabled.get_untracked(), fallback_body: body.get_untracked() });
        }>
            <h2>"Horario de contacto y canal alternativo"</h2>
            <fieldset>
                <legend>"Días de contacto"</legend>
                {WEEKDAYS.iter().enumerate().map(|(i, d)| view! {
                    <label class="inline">
                        <input type="checkbox" prop:checked=move || days.get()[i] on:change=move |ev| { let v = event_target_checked(&ev); days.update(|d| d[i] = v) } />
                        {*d}
                    </label>
                }).collect_view()}
                <FieldMessage errors name="contact_days" />
            </fieldset>
            <div class="field-row">
                <div class="field">
                    <label for="contact-start">"Desde"</label>
                    <input id="contact-start" type="time" prop:value=move || start.get() on:input=move |ev| start.set(event_target_value(&ev)) />
                    <FieldMessage errors name="contact_start" />
                </div>
                <div class="field">
                    <label for="contact-end">"Hasta"</label>
                    <input id="contact-end" type="time" prop:value=move || end.get() on:input=move |ev| end.set(event_target_value(&ev)) />
                    <FieldMessage errors name="contact_end" />
                </div>
            </div>
            <label class="inline">
                <input type="checkbox" prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev)) />
                "Canal alternativo: si un envío automático falla, enviar un mensaje estándar por el último canal que funcionó con el cliente"
            </label>
            <div class="field">
                <label for="fallback-body">"Mensaje estándar"</label>
                <textarea id="fallback-body" rows="3" prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                <FieldMessage errors name="fallback_body" />
            </div>
            {feedback.view()}
            <Show when=move || saved.get()><p class="notice" role="status">"Guardado."</p></Show>
            <button type="submit" disabled=move || save.pending().get()>"Guardar horario"</button>
        </form>
    }
}

#[component]
pub fn EventsPage() -> impl IntoView {
    let version = RwSignal::new(0u64);
    let events = Resource::new(move || version.get(), |_| list_events());
    let templates = Resource::new(|| (), |_| list_templates());
    view! {
        <Title text="Eventos · Recaudo" />
        <StrategyTabs />
        <div class="page-head"><h1>"Eventos"</h1></div>
        <p class="small">"Los eventos llegan también a los clientes suspendidos del flujo principal (por ejemplo, con un compromiso de pago vigente)."</p>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match templates.await {
                    Ok(list) => view! { <EventForm templates=list done=Callback::new(move |()| version.update(|v| *v += 1)) /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="loading">"Cargando eventos…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Aún no hay eventos."</p> }.into_any(),
                    Ok(list) => view! {
                        <table>
                            <caption class="visually-hidden">"Eventos"</caption>
                            <thead><tr><th scope="col">"Nombre"</th><th scope="col">"Cuándo"</th><th scope="col">"Plantilla"</th><th scope="col">"Enviados"</th><th scope="col">"Acciones"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|e| {
                                    let id = e.id;
                                    let remove = Action::new(move |_: &()| delete_event(id));
                                    Effect::new(move |_| if let Some(Ok(())) = remove.value().get() { version.update(|v| *v += 1) });
                                    view! {
                                        <tr>
                                            <td>{e.name.clone()}{(!e.active).then_some(" (inactivo)")}</td>
                                            <td>{e.describe()}</td>
                                            <td>{format!("{} ({})", e.template_name, e.channel.label())}</td>
                                            <td>{e.sent}</td>
                                            <td><button type="button" class="link" on:click=move |_| { remove.dispatch(()); }>"Eliminar"</button></td>
                                        </tr>
                                    }
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
fn EventForm(templates: Vec<Template>, done: Callback<()>) -> impl IntoView {
    let input = RwSignal::new(EventRuleInput {
        name: String::new(),
        trigger: Trigger::PromiseCreated,
        days_before: 2,
        template_id: templates.first().map(|t| t.id),
        active: true,
    });
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let save = Action::new(move |i: &EventRuleInput| save_event(None, i.clone()));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            input.update(|i| i.name.clear());
            done.run(())
        }
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    view! {
        <form class="card" aria-label="Nuevo evento" on:submit=move |ev| {
            ev.prevent_default();
            feedback.clear();
            save.dispatch(input.get_untracked());
        }>
            <div class="field-row">
                <div class="field">
                    <label for="event-name">"Nombre del evento"</label>
                    <input id="event-name" type="text" prop:value=move || input.with(|i| i.name.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); input.update(|i| i.name = v) } />
                    <FieldMessage errors name="name" />
                </div>
                <div class="field">
                    <label for="event-trigger">"Cuándo"</label>
                    <select id="event-trigger" on:change=move |ev| if let Ok(t) = event_target_value(&ev).parse() { input.update(|i| i.trigger = t) }>
                        {Trigger::ALL.iter().map(|t| view! { <option value=t.as_str()>{t.label()}</option> }).collect_view()}
                    </select>
                </div>
                <Show when=move || input.with(|i| i.trigger == Trigger::PromiseDue)>
                    <div class="field">
                        <label for="event-days">"Días antes"</label>
                        <input id="event-days" type="number" prop:value=move || input.with(|i| i.days_before.to_string())
                            on:input=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(-1); input.update(|i| i.days_before = v) } />
                        <FieldMessage errors name="days_before" />
                    </div>
                </Show>
                <div class="field">
                    <label for="event-template">"Plantilla"</label>
                    <select id="event-template" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); input.update(|i| i.template_id = v) }>
                        {templates.iter().map(|t| view! { <option value=t.id.to_string()>{template_label(t)}</option> }).collect_view()}
                    </select>
                    <FieldMessage errors name="template" />
                </div>
            </div>
            {feedback.view()}
            <button type="submit" disabled=move || save.pending().get()>"Crear evento"</button>
        </form>
    }
}

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let version = RwSignal::new(0u64);
    let campaigns = Resource::new(move || version.get(), |_| list_campaigns());
    let creating = RwSignal::new(false);
    view! {
        <Title text="Campañas · Recaudo" />
        <StrategyTabs />
        <div class="page-head">
            <h1>"Campañas"</h1>
            <div class="actions">
                <Show when=move || !creating.get()>
                    <button type="button" on:click=move |_| creating.set(true)>"Nueva campaña"</button>
                </Show>
                <button type="button" class="secondary" on:click=move |_| version.update(|v| *v += 1)>"Actualizar progreso"</button>
            </div>
        </div>
        <Show when=move || creating.get()>
            <WithLists form=Callback::new(move |(segments, templates)| view! {
                <CampaignForm segments templates done=Callback::new(move |()| {
                    creating.set(false);
                    version.update(|v| *v += 1);
                }) />
            }.into_any()) />
        </Show>
        <Transition fallback=|| view! { <p class="loading">"Cargando campañas…"</p> }>
            {move || Suspend::new(async move {
                match campaigns.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Aún no hay campañas."</p> }.into_any(),
                    Ok(list) => view! {
                        <table>
                            <caption class="visually-hidden">"Campañas"</caption>
                            <thead><tr><th scope="col">"Nombre"</th><th scope="col">"Segmento"</th><th scope="col">"Plantilla"</th><th scope="col">"Envío"</th><th scope="col">"Estado"</th><th scope="col">"Progreso"</th><th scope="col">"Acciones"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|c| {
                                    let id = c.id;
                                    let cancel = Action::new(move |_: &()| cancel_campaign(id));
                                    Effect::new(move |_| if let Some(Ok(_)) = cancel.value().get() { version.update(|v| *v += 1) });
                                    let open = c.state != CampaignState::Cancelled;
                                    let progress = match c.total {
                                        Some(t) => format!("{} de {} escritos · {} entregados · {} fallidos", c.written, t, c.delivered, c.failed),
                                        None => "Aún no empieza".to_string(),
                                    };
                                    view! {
                                        <tr>
                                            <td>{c.name.clone()}</td>
                                            <td>{c.segment_name.clone()}</td>
                                            <td>{format!("{} ({})", c.template_name, c.channel.label())}</td>
                                            <td>{fmt_datetime(c.scheduled_at)}</td>
                                            <td>{c.state.label()}</td>
                                            <td>{progress}</td>
                                            <td>
                                                {open.then(|| view! { <button type="button" class="link" on:click=move |_| { cancel.dispatch(()); }>{format!("Cancelar campaña {}", c.name)}</button> })}
                                                {move || cancel.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                                            </td>
                                        </tr>
                                    }
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
fn CampaignForm(
    segments: Vec<Segment>,
    templates: Vec<Template>,
    done: Callback<()>,
) -> impl IntoView {
    let input = RwSignal::new(CampaignInput {
        name: String::new(),
        segment_id: segments.first().map(|s| s.id),
        template_id: templates.first().map(|t| t.id),
        scheduled_at: String::new(),
    });
    let rules: Vec<(i64, Rule)> = segments.iter().map(|s| (s.id, s.rule.clone())).collect();
    let preview = Resource::new(
        move || input.with(|i| i.segment_id),
        move |seg| {
            let rule = rules
                .iter()
                .find(|(id, _)| Some(*id) == seg)
                .map(|(_, r)| r.clone());
            async move {
                match rule {
                    Some(r) => count_segment(r).await.map(Some),
                    None => Ok(None),
                }
            }
        },
    );
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let save = Action::new(move |i: &CampaignInput| create_campaign(i.clone()));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            input.update(|i| i.name.clear());
            done.run(())
        }
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    view! {
        <form class="card" aria-label="Nueva campaña" on:submit=move |ev| {
            ev.prevent_default();
            feedback.clear();
            save.dispatch(input.get_untracked());
        }>
            <div class="field-row">
                <div class="field">
                    <label for="campaign-name">"Nombre de la campaña"</label>
                    <input id="campaign-name" type="text" prop:value=move || input.with(|i| i.name.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); input.update(|i| i.name = v) } />
                    <FieldMessage errors name="name" />
                </div>
                <div class="field">
                    <label for="campaign-segment">"Segmento"</label>
                    <select id="campaign-segment" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); input.update(|i| i.segment_id = v) }>
                        {segments.iter().map(|s| view! { <option value=s.id.to_string()>{s.name.clone()}</option> }).collect_view()}
                    </select>
                    <FieldMessage errors name="segment" />
                </div>
                <div class="field">
                    <label for="campaign-template">"Plantilla"</label>
                    <select id="campaign-template" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); input.update(|i| i.template_id = v) }>
                        {templates.iter().map(|t| view! { <option value=t.id.to_string()>{template_label(t)}</option> }).collect_view()}
                    </select>
                    <FieldMessage errors name="template" />
                </div>
                <div class="field">
                    <label for="campaign-at">"Enviar el (vacío: ahora)"</label>
                    <input id="campaign-at" type="datetime-local" prop:value=move || input.with(|i| i.scheduled_at.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); input.update(|i| i.scheduled_at = v) } />
                    <FieldMessage errors name="scheduled_at" />
                </div>
            </div>
            <p class="live-count" aria-live="polite">
                <Transition fallback=|| "Contando…">
                    {move || Suspend::new(async move {
                        let text = match preview.await {
                            Ok(Some(n)) => format!("Llegará a {n} clientes (sin contar los que tengan las comunicaciones pausadas)."),
                            Ok(None) => "Elige un segmento.".to_string(),
                            Err(e) => e.to_string(),
                        };
                        view! { <span>{text}</span> }
                    })}
                </Transition>
            </p>
            {feedback.view()}
            <div class="actions">
                <button type="submit" disabled=move || save.pending().get()>"Programar campaña"</button>
                <button type="button" class="secondary" on:click=move |_| done.run(())>"Cancelar"</button>
            </div>
        </form>
    }
}
