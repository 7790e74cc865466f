DROP TRIGGER order_events_webhooks ON order_events;
DROP FUNCTION record_webhook_deliveries();
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TYPE webhook_delivery_state;
DROP TABLE webhook_events;
DROP TABLE webhooks;
