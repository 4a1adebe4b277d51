//! SMTP server sessions: MX, submission, submissions
