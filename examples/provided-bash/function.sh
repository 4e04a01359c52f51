# The handler, sourced by bootstrap: it gets the event as $1 and prints the response on stdout.
# Anything written to stderr goes to the function's log.
function handler () {
  EVENT_DATA=$1
  echo "$EVENT_DATA" 1>&2;
  RESPONSE="Echoing request: '$EVENT_DATA'"

  echo "$RESPONSE"
}
