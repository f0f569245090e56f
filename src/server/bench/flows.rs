//! `recaudo bench flows`: N clients, a main flow of seven steps (messages on three
//! channels and a call) over a segment with Y/O connectors, an event, then one daily
//! scheduler pass: how long it takes, how many messages and calls it writes, and the
//! peak memory it needs; then the same pass again (the minute-by-minute re-scan, which
//! must write nothing).

use std::time::Instant;

use chrono::Utc;

use super::{print_single, rss_mb, seed_clients, BenchArgs};
use crate::domain::automation::{EventRuleInput, FlowInput, FlowStepInput, Trigger};
use crate::domain::client::PartyRole;
use crate::domain::message::Channel;
use crate::domain::segments::{Condition, Connector, Op, Rule, SegmentInput, Variable};
use crate::domain::templates::{Purpose, TemplateInput};
use crate::server::automation::{self, scheduler};
use crate::server::config::Config;
use crate::server::config::Sending;
use crate::server::db::Db;
use crate::server::{segments, templates};

/// Starts the peak over from the current size, so that seeding does not count.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn cond(variable: Variable, op: Op, value: &str) -> Rule {
    Rule::Condition(Condition {
        variable,
        op,
        value: value.into(),
    })
}

pub(super) async fn setup(db: &Db) -> Result<(), String> {
    let err = |e: crate::domain::error::AppError| e.to_string();
    let admin = super::demo_viewer(db, "admin@demo.recaudo").await?;
    let now = Utc::now();
    let mut ids = Vec::new();
    for (name, channel, body) in [
        (
            "Bench SMS",
            Channel::Sms,
            "{{nombre}}, su deuda de {{deuda_vencida}} vence. Pague: {{link_pago}}",
        ),
        (
            "Bench correo",
            Channel::Email,
            "Hola {{nombre}}:\n{{estado_cuenta}}\nPague aquí: {{link_pago}}",
        ),
        (
            "Bench WhatsApp",
            Channel::WhatsApp,
            "Hola {{nombre}}, tiene {{dias_atraso}} días de atraso.",
        ),
    ] {
        let input = TemplateInput {
            name: name.into(),
            channel,
            recipient: PartyRole::Client,
            purpose: Purpose::Flow,
            subject: "Su cuenta".into(),
            body: body.into(),
            approved: true,
        };
        ids.push(
            templates::save(db, &admin, None, input, now)
                .await
                .map_err(err)?,
        );
    }
    // días de atraso > 0 Y (sin alerta de no pago O contactabilidad con problemas)
    let rule = Rule::Group {
        connector: Connector::And,
        rules: vec![
            cond(Variable::DaysOverdue, Op::Gt, "0"),
            Rule::Group {
                connector: Connector::Or,
                rules: vec![
                    cond(Variable::NonPaymentAlert, Op::Ne, "wont_pay"),
                    cond(Variable::Contactability, Op::Eq, "with_problems"),
                ],
            },
        ],
    };
    let segment = segments::save(
        db,
        &admin,
        None,
        SegmentInput {
            name: "Bench en mora".into(),
            rule,
        },
        now,
    )
    .await
    .map_err(err)?;
    let steps = [
        (-3, Some(ids[0])),
        (1, Some(ids[2])),
        (5, Some(ids[0])),
        (10, None),
        (15, Some(ids[1])),
        (30, Some(ids[0])),
        (60, Some(ids[1])),
    ];
    automation::save_flow(
        db,
        &admin,
        None,
        FlowInput {
            name: "Bench principal".into(),
            segment_id: Some(segment),
            position: 1,
            active: true,
            steps: steps
                .iter()
                .map(|(day, template_id)| FlowStepInput {
                    day: *day,
                    template_id: *template_id,
                })
                .collect(),
        },
        now,
    )
    .await
    .map_err(err)?;
    automation::save_event(
        db,
        &admin,
        None,
        EventRuleInput {
            name: "Bench compromiso por vencer".into(),
            trigger: Trigger::PromiseDue,
            days_before: 1,
            template_id: Some(ids[0]),
            active: true,
        },
        now,
    )
    .await
    .map_err(err)?;
    Ok(())
}

pub async fn measure(db: &Db, args: &BenchArgs, config: &Config) -> Result<(), String> {
    let engine = db.engine().as_str();
    db.migrate().await.map_err(|e| e.to_string())?;
    seed_clients(db, args.clients, config.clock()).await?;
    setup(db).await?;
    db.refresh_statistics().await.map_err(|e| e.to_string())?;
    // Every channel configured (through the sandbox), so that each send is written as
    // it would be in production; nothing is delivered during the run.
    let sending = Sending {
        demo: true,
        ..config.sending()
    };
    reset_peak_rss();
    let before = rss_mb("VmRSS:")?;
    let started = Instant::now();
    let report = scheduler::run_once(db, &sending, config.clock())
        .await
        .map_err(|e| e.to_string())?;
    let pass = started.elapsed().as_secs_f64();
    let peak = rss_mb("VmHWM:")?;
    let started = Instant::now();
    let again = scheduler::run_once(db, &sending, config.clock())
        .await
        .map_err(|e| e.to_string())?;
    let repass = started.elapsed().as_secs_f64();
    if again.sent_anything() {
        return Err(format!(
            "la segunda pasada volvió a enviar: {}",
            again.describe()
        ));
    }
    // A call task is a row in the calls tray, not a message: each is counted apart.
    let messages = report.flow_messages + report.event_messages;
    let calls = report.flow_calls;
    println!();
    println!(
        "daily scheduler pass over {} clients ({engine})",
        args.clients
    );
    println!("  {}", report.describe());
    println!(
        "  first pass:  {pass:.2} s ({:.0} messages/s, {:.0} call tasks/s)",
        messages as f64 / pass,
        calls as f64 / pass
    );
    println!("  second pass: {repass:.2} s (wrote nothing)");
    println!("  peak RSS during the pass: {peak:.0} MB (the process held {before:.0} MB when it began, after seeding)");
    println!();
    print_single("flows_pass", engine, pass);
    print_single("flows_repass", engine, repass);
    println!(
        "BENCH flows_messages engine={engine} rate_per_s={:.0}",
        messages as f64 / pass
    );
    println!(
        "BENCH flows_call_tasks engine={engine} rate_per_s={:.0}",
        calls as f64 / pass
    );
    println!("BENCH flows_pass engine={engine} peak_rss_mb={peak:.0}");
    Ok(())
}
