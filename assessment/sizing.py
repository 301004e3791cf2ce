"""The SME size class by Decree 80/2021/NĐ-CP, Article 5: derived, never typed.

A business is of a size when its employees (average, with social insurance) are within the cap AND
(its annual revenue OR its total capital) is within the cap; sizes are tried smallest first.
"""

from __future__ import annotations

# group -> [(size, max employees, max revenue bn VND, max capital bn VND)], smallest first
THRESHOLDS: dict[str, list[tuple[str, int, float, float]]] = {
    "agri_industry_construction": [("micro", 10, 3, 3), ("small", 100, 50, 20), ("medium", 200, 200, 100)],
    "trade_services": [("micro", 10, 10, 3), ("small", 50, 100, 50), ("medium", 100, 300, 100)],
}
SIZES = ("micro", "small", "medium", "large")


def size_class(group: str, employees: int, revenue_bn: float, capital_bn: float) -> str:
    """'micro', 'small', 'medium', or 'large' (out of the SME programme's scope)."""
    for size, max_employees, max_revenue, max_capital in THRESHOLDS[group]:
        if employees <= max_employees and (revenue_bn <= max_revenue or capital_bn <= max_capital):
            return size
    return "large"
