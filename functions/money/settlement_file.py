"""GET /ops/settlements/{settlementId}/files/{format}: a settlement statement as JSON, CSV or XLSX."""

from petcover.api import Call, api, ops
from petcover.models.money import SettlementFile
from petcover.services.money import settlements


@api(
    summary="A settlement statement file: json or csv as text, xlsx base64-encoded; the id is "
    "{channel|provider}.{id}.{YYYY-MM}",
    auth=ops("finance"),
    response=SettlementFile,
    metric="SettlementRead",
    tags=("money", "reports"),
    errors=("SETTLEMENT_NOT_FOUND", "SETTLEMENT_FILE_MISSING"),
)
def handler(call: Call) -> SettlementFile:
    return settlements.file(call.ports, call.path["settlementId"], call.path["format"])
