"""Portfolio analytics: the collections KPIs and the synthetic portfolio to see them on."""
