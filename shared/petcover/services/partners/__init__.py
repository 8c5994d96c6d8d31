"""Provider and insurer onboarding. ``accounts``: open and read accounts, the signed caller, keys.
``documents``: qualification file uploads. ``validation``: the checks a configuration must pass.
``config``: draft, submit, and the ops review of the first configuration. ``changes``: change
requests to a live configuration and their review. ``bindings``: an insurer binds a provider.
``directory``: active providers and insurer bindings for dispatch, look-up by name. ``overview``:
a partner's detail, the review queue, the audit trail. Pure rules sit in
``petcover.domain.partner_config``; keys and item mapping in ``petcover.repositories.partners``.
"""
