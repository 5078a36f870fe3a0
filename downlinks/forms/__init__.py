"""Forms of the dashboard: the two send forms (`send`), the payloads they read (`payload`),
the list filters with their sort columns (`filters`) and the cancel confirmation (`cancel`).

The rules the forms check (device ids, payload alphabets, fPort and retry limits, the
feedback timeout, the statuses) are the API package's, `things_api`; the forms only say in
words what is wrong. What the rest of the project uses is exported here.
"""

from devices.fields import DeviceIdField, validate_device_id
from downlinks.forms.cancel import CancelForm
from downlinks.forms.filters import (
    COLUMN_LABELS,
    DEFAULT_SORT,
    PAGE_SIZES,
    SORT_COLUMNS,
    DownlinkFilterForm,
    list_columns,
)
from downlinks.forms.payload import PayloadFormat, payload_bytes
from downlinks.forms.send import (
    FeedbackTimeoutFields,
    LoraSendForm,
    MqttMessageType,
    MqttSendForm,
    SendForm,
    send_form_class,
)
from downlinks.forms.template_send import TemplateSendForm

__all__ = [
    "COLUMN_LABELS",
    "DEFAULT_SORT",
    "PAGE_SIZES",
    "SORT_COLUMNS",
    "CancelForm",
    "DeviceIdField",
    "DownlinkFilterForm",
    "FeedbackTimeoutFields",
    "LoraSendForm",
    "MqttMessageType",
    "MqttSendForm",
    "PayloadFormat",
    "SendForm",
    "TemplateSendForm",
    "list_columns",
    "payload_bytes",
    "send_form_class",
    "validate_device_id",
]
