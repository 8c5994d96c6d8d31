"""Provider and insurer onboarding: ops (accounts, keys, reviews, audit) and partner self-service."""
