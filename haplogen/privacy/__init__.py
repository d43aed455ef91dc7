"""Privacy audits of artificial haplotypes: do they reveal the individuals that trained the model?"""

from .audit import PRIVACY_METRICS, PrivacyThresholds, nearest_with_index, privacy_audit, privacy_verdict

__all__ = ["PRIVACY_METRICS", "PrivacyThresholds", "privacy_audit", "privacy_verdict", "nearest_with_index"]
