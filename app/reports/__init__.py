"""School reports: the SEN register, provision costs, the notional SEN budget and the census."""
