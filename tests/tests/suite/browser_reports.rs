//! The console's Reports page (#38) in a real browser under the strict policy: an admin sees
//! the day's counts drawn as SVG charts and a table per agent, downloads the same rows as CSV,
//! and axe-core finds nothing; agents never see the page.

use domain::model::{Priority, Role};
use integration_tests::agents::{accept, agent, waiting};
use integration_tests::browser::Browser;
use integration_tests::{json, TestApp};
use reqwest::StatusCode;

use super::browser_access::sign_in;

/// Ana takes one conversation, answers it and ends the session.
async fn a_handled_conversation(app: &TestApp) {
    agent(app, "ana", 2, &[], "online").await;
    let cid = waiting(app, "eu-1", Priority::Normal, None).await;
    app.run_router().await;
    assert_eq!(accept(app, "ana", &cid).await.status, StatusCode::OK);
    let token = app.token(Role::Agent, "ana");
    let reply = app.send_text(&cid, &token, "r-1", "Here is how").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let ended = app
        .post(&format!("/v1/conversations/{cid}/end"), &token, json!({}))
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:?}", ended.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_admin_reads_the_reports_page_and_downloads_its_csv() {
    let app = TestApp::start_in_memory().await;
    a_handled_conversation(&app).await;
    let admin = Browser::start(1280, 1000).await;
    sign_in(&admin, &app, Role::Admin, "boss").await;
    let tab = admin.find("#reports-tab").await;
    admin.click(&tab).await;
    admin
        .wait_for_text(None, "#report-result", "days in UTC", 10)
        .await;
    // The stream's count may land a moment after the requests: show again until it has.
    admin
        .wait_until(
            "const rows = [...document.querySelectorAll('[data-testid=report-table] tfoot th, \
             [data-testid=report-table] tfoot td')].map(c => c.textContent); \
             if (rows[1] !== '1') document.getElementById('report-run').click(); \
             return rows[1] === '1' && rows[2] === '1';",
            15,
            "the total counts one conversation and one handoff",
        )
        .await;
    let group = admin.find("#report-group").await;
    admin.type_into(&group, "Agent").await;
    let run = admin.find("#report-run").await;
    admin.click(&run).await;
    admin
        .wait_for_text(None, "[data-testid=report-table] tbody th", "ana", 10)
        .await;
    let drawn = admin
        .run(
            "return { charts: document.querySelectorAll('#report-charts svg[role=img]').length, \
                      bars: document.querySelectorAll('#report-charts rect.bar').length, \
                      label: document.querySelector('#report-charts svg').getAttribute('aria-label') };",
            vec![],
        )
        .await;
    assert_eq!(drawn["charts"], 4, "{drawn}");
    assert!(drawn["bars"].as_u64().unwrap() >= 3, "{drawn}");
    assert!(drawn["label"].as_str().unwrap().contains(": "), "{drawn}");
    let violations = admin.axe_violations().await;
    assert!(
        violations.is_empty(),
        "axe-core on the reports page: {violations:#?}"
    );
    admin.screenshot("reports-1-console-reports").await;

    // What the download holds: the blob the page hands to the browser.
    admin
        .run(
            "window.__csv = null; const make = URL.createObjectURL; \
             URL.createObjectURL = (blob) => { blob.text().then(t => { window.__csv = t; }); return make(blob); };",
            vec![],
        )
        .await;
    let csv = admin.find("#report-csv").await;
    admin.click(&csv).await;
    admin
        .wait_until(
            "return typeof window.__csv === 'string' && window.__csv.startsWith('agent_id,conversations_started') \
             && window.__csv.split('\\n').some(l => l.startsWith('ana,'));",
            10,
            "the CSV download holds Ana's row",
        )
        .await;
    assert_eq!(
        super::browser::csp_violations(&app).await,
        Vec::<serde_json::Value>::new()
    );

    // An agent has no Reports tab (and the API refuses them: reports.rs).
    let agent = Browser::start(1280, 800).await;
    sign_in(&agent, &app, Role::Agent, "ana").await;
    let hidden = agent
        .run(
            "return document.getElementById('reports-tab').hidden;",
            vec![],
        )
        .await;
    assert_eq!(hidden, json!(true));
}
