#!/bin/sh
# Rotate every listed vendor's production key that is past its maximum age, leave the evidence,
# and exit non-zero when a rotation failed, left a step to do by hand, or a key is still overdue
# (cron mails that; the systemd unit shows it as failed). Run it from cron or from
# tourniquet-rotation.timer. Exit 6 with a step "NOT DONE, left to do by hand" (always, for
# Stripe): the proxy already uses the new key; do the step, then at a terminal, as this user and
# with this TOURNIQUET_STATE_DIR: tourniquet resume INCIDENT. Until then every run ends 6 again.
#
#   TOURNIQUET_ROTATE_VENDORS   vendors to check, space-separated (default: openai)
#   TOURNIQUET_EVIDENCE_DIR     where the evidence goes (default: /var/lib/tourniquet/evidence)
#   and the usual TOURNIQUET_PROXY_URL, TOURNIQUET_ADMIN_TOKEN_FILE, TOURNIQUET_STATE_DIR,
#   TOURNIQUET_ROTATION_MAX_AGE, TOURNIQUET_<VENDOR>_ADMIN_KEY=file:… (never a secret itself)
set -u
evidence="${TOURNIQUET_EVIDENCE_DIR:-/var/lib/tourniquet/evidence}"
status=0
for vendor in ${TOURNIQUET_ROTATE_VENDORS:-openai}; do
  tourniquet rotate "$vendor" --if-due --yes --no-input --evidence "$evidence" || status=$?
done
tourniquet keys || status=$?
exit "$status"
