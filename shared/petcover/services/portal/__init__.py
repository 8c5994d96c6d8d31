"""The provider portal: a provider's (or an insurer's) staff reading and working their own data.

Every function takes the portal principal (``Principal("provider", id)`` or ``("insurer", id)``)
and reads only that partner's items, through the same services its signed API uses."""
