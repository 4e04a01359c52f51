"""A Python handler. Deploy with handler "app.handler" on python3.11 or python3.12."""

import logging

# Lambda's Python runtime installs a handler on the root logger; set the level you want here.
logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    name = event.get("name") if isinstance(event, dict) else None
    if not isinstance(name, str) or not name:
        name = "world"
    logger.info("Saying hello to %s", name)
    # print() goes to the same log stream, without the level and request id prefix.
    print(f"{context.function_name} has {context.get_remaining_time_in_millis()} ms left")
    return {"message": f"Hello, {name}!"}
