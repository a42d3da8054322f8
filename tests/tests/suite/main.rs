//! The integration suite as one test binary (one link instead of sixteen): a module per area,
//! each against the emulator at `AWS_ENDPOINT_URL` through the harness in `tests/src`.

mod asyncapi;
mod attachment_admission;
mod attachments_api;
mod authorization;
mod bad_input;
mod browser;
mod built_in_bot;
mod conversations_api;
mod csat;
mod deployed_path;
mod deployed_realtime;
mod dynamo_contract;
mod emulator_resources;
mod events_handoff;
mod faults;
mod hostile_input;
mod integrations;
mod layers;
mod load;
mod memory_contract;
mod messages_api;
mod openapi;
mod realtime;
mod realtime_delivery;
mod request_shape;
mod routes;
mod routing;
mod sdk_timeouts;
mod sessions;
mod settings_api;
mod settings_audit_and_effects;
mod webhooks;
mod widget_api;
mod workspace;
