//! Outbound queue, scheduler, routes, SMTP client, delivery status notifications
