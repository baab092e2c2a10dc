"""54-FZ receipts for the use cases: whom a receipt goes to, and the receipt a new payment carries.

With ``RECEIPTS=off`` nothing here sends anything (and nothing is asked of the customer). With ``on``,
a create without a contact is refused before anything is written or sent: YooKassa would refuse the
payment of a shop with fiscalisation, and a payment whose receipt cannot be delivered is unlawful.
"""

from payments.domain import Caller, Order, Plan, SubscriptionType
from payments.domain.receipts import Contact, Receipt, order_receipt, receipt_contact, subscription_receipt
from payments.domain.subscriptions import period_months
from payments.errors import ReceiptContactRequired
from payments.money import Kopecks
from payments.schemas import CustomerContact
from payments.settings import Settings


def contact_for(settings: Settings, caller: Caller, customer: CustomerContact | None) -> Contact | None:
    """The receipt's contact (the body's, else the token's claims); ``None`` with receipts off."""
    if not settings.receipts_on:
        return None
    contact = receipt_contact(customer.contact() if customer else None, caller.email, caller.phone)
    if not contact:
        raise ReceiptContactRequired()
    return contact


def order_receipt_for(settings: Settings, order: Order, contact: Contact | None) -> Receipt | None:
    if contact is None:
        return None
    vat_code = order.vat_code or settings.default_vat_code
    return order_receipt(
        order.description, order.amount, order.receipt_lines, vat_code, contact, settings.tax_system_code
    )


def subscription_receipt_for(
    settings: Settings, plan: Plan, subscription_type: SubscriptionType, price: Kopecks, contact: Contact | None
) -> Receipt | None:
    if contact is None:
        return None
    months = period_months(subscription_type)
    vat_code = plan.vat_code or settings.default_vat_code
    return subscription_receipt(plan.name, months, price, vat_code, contact, settings.tax_system_code)
