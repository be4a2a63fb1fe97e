"""Real servers (Dovecot) that tests configure, start on 127.0.0.1 and stop afterwards."""
