//! The ingest handler beside its floor, in one run: two ordered conditional puts (what an
//! append must write) against `POST …/messages` through the handler, at 1 and at 8 in flight.

use super::*;

/// The floor of an append under R13 + R14 at two write units: the idempotency claim, then the
/// message, each a conditional `PutItem` of a new item, one after the other (the message may
/// only be written once its claim exists). No read, no authentication, no push.
async fn two_ordered_conditional_puts(dynamo: &aws_sdk_dynamodb::Client, table: &str, i: usize) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let pk = format!("bench#{}", domain::ids::new_id("p"));
    for (sk, body) in [
        (format!("K#author#{i}"), "a claim of seq 1".to_string()),
        (
            format!("M#{i:012}"),
            "a message of ordinary length, like most are".to_string(),
        ),
    ] {
        let _ = dynamo
            .put_item()
            .table_name(table)
            .item("pk", S(pk.clone()))
            .item("sk", S(sk))
            .item("text", S(body))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
    }
}

pub async fn ingest_overhead() -> Result<(), String> {
    println!(
        "\n## 2. Ingest overhead ({OVERHEAD_REQUESTS} requests per row, emulator {})\n",
        endpoint()
    );
    let app = TestApp::start().await;
    let backend = app.backend.clone();
    let mut conversations = Vec::new();
    for i in 0..OVERHEAD_CONCURRENCY {
        conversations.push(app.new_conversation(&format!("bench-{i}")).await);
    }
    let table = provisioned().await.table_name.clone();
    let dynamo = aws_sdk_dynamodb::Client::new(&emulator_config().await);
    // Warm both paths (connections, the account's key) before measuring.
    for _ in 0..2 {
        let _ = dynamo
            .put_item()
            .table_name(&table)
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("bench#warm".into()),
            )
            .item("sk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
            .send()
            .await;
    }
    println!("| in flight | path | p50 | p99 |");
    println!("|---|---|---|---|");
    // The concurrency, then one at a time: the emulator serialises every call, so at 8
    // in flight the ratio counts all of a message's requests; at 1 it counts round trips.
    for concurrency in [OVERHEAD_CONCURRENCY, 1] {
        let bare = latencies(OVERHEAD_REQUESTS, concurrency, |i| {
            let (dynamo, table) = (dynamo.clone(), table.clone());
            async move { bare_put_item(&dynamo, &table, i).await }
        })
        .await;
        let handler = latencies(OVERHEAD_REQUESTS, concurrency, |i| {
            let backend = backend.clone();
            let cid = conversations[i % conversations.len()].clone();
            let token = app.token(Role::EndUser, &format!("bench-{}", i % OVERHEAD_CONCURRENCY));
            async move {
                let body = json!({"client_message_id": format!("b-{concurrency}-{i}"), "type": "text", "text": "a message of ordinary length, like most are"});
                let request = http::Request::builder()
                    .method("POST")
                    .uri(format!("/v1/conversations/{cid}/messages"))
                    .header("authorization", format!("Bearer {token}"))
                    .body(Bytes::from(body.to_string()))
                    .expect("request");
                let response = ingest_message::handle(&backend, request).await;
                assert!(response.status().is_success(), "{}", response.body());
            }
        })
        .await;
        let floor = latencies(OVERHEAD_REQUESTS, concurrency, |i| {
            let (dynamo, table) = (dynamo.clone(), table.clone());
            async move { two_ordered_conditional_puts(&dynamo, &table, i).await }
        })
        .await;
        println!(
            "| {concurrency} | bare PutItem | {:.2} ms | {:.2} ms |",
            ms(percentile(&bare, 0.5)),
            ms(percentile(&bare, 0.99))
        );
        println!(
            "| {concurrency} | the append's floor (two ordered conditional puts, nothing else) | {:.2} ms ({:.2}×) | {:.2} ms ({:.2}×) |",
            ms(percentile(&floor, 0.5)),
            percentile(&floor, 0.5).as_secs_f64() / percentile(&bare, 0.5).as_secs_f64(),
            ms(percentile(&floor, 0.99)),
            percentile(&floor, 0.99).as_secs_f64() / percentile(&bare, 0.99).as_secs_f64()
        );
        println!(
            "| {concurrency} | ingest handler (auth, conversation read, idempotent append) | {:.2} ms | {:.2} ms |",
            ms(percentile(&handler, 0.5)),
            ms(percentile(&handler, 0.99))
        );
        println!(
            "| {concurrency} | **ratio** to bare PutItem (targets p50 ≤ 1.5× #7, ≤ 2× #15) | {:.2}× | {:.2}× |",
            percentile(&handler, 0.5).as_secs_f64() / percentile(&bare, 0.5).as_secs_f64(),
            percentile(&handler, 0.99).as_secs_f64() / percentile(&bare, 0.99).as_secs_f64()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. Billed units.
