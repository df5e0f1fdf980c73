"""What each e-commerce table means to the business: shown on its asset in the Dagster catalog."""

SILVER = {
    "customers": "Every registered customer, one row each, latest registration data; email only as a hash.",
    "products": "The product catalogue as it stands now: price, category and merchant per product.",
    "carts": "Each shopping cart's current contents and value: what customers are about to buy.",
    "orders": "One row per order placed: amounts, merchant, terminal, the card as a hash, current status and "
    "whether a chargeback was filed (the fraud label).",
    "order_lines": "What each order contained: product, category, quantity and price per line.",
    "order_status_changes": "Every status an order went through, when (paid, shipped, cancelled, review).",
    "payments": "Every captured payment, once, with its amount and method.",
    "chargebacks": "Every chargeback filed, once: the customer's bank disputing an order, usually as fraud.",
}

GOLD = {
    "daily_sales_by_category": "Orders, units and revenue per category per day (cancelled orders excluded): "
    "what sells, and when.",
    "daily_sales_by_merchant": "Orders, revenue and chargebacks per merchant per day, with the chargeback rate "
    "card schemes watch.",
    "customer_spend": "Per customer: orders and spend over the last 1/7/30 days of data, average and spread of "
    "order amounts, first and last order, favourite category and usual hour: the baseline fraud features compare "
    "a new order against.",
}
