"""GET /console and /console/{proxy+}: the back-office console's page and files (same origin as the API)."""

from petcover.api import Call, Raw, api, public
from petcover.services import console


@api(
    summary="The back-office console: its page for every route of the application, and its files",
    auth=public(),
    metric="ConsoleServed",
    tags=("console",),
    errors=("CONSOLE_NOT_DEPLOYED", "CONSOLE_FILE_NOT_FOUND", "INVALID_CONSOLE_PATH"),
    content_type="text/html",
)
def handler(call: Call) -> Raw:
    f = console.get_file(call.ports, call.path.get("proxy"))
    return Raw(f.text, f.content_type, {"Cache-Control": f.cache_control})
