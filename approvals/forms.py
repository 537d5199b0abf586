"""Forms: input shape and limits only; every decision is made in approvals.workflow, every read in
approvals.selectors."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Campaign, SenderIdentity
from .selectors.auditor import CampaignFilters, people_who


class CampaignCreateForm(forms.Form):
    name = forms.CharField(label=_("Campaign name"), max_length=200)


class MessageForm(forms.ModelForm):
    sender = forms.ModelChoiceField(
        queryset=SenderIdentity.objects.filter(active=True),
        label=_("Sender"),
        required=False,
        empty_label=_("— choose an approved sender —"),
    )

    class Meta:
        model = Campaign
        fields = ["name", "sender", "recipient_mode", "kind", "attachment_delivery", "subject", "body_text",
                  "body_html"]
        widgets = {
            "recipient_mode": forms.RadioSelect,
            "kind": forms.RadioSelect,
            "attachment_delivery": forms.RadioSelect,
            "body_text": forms.Textarea(attrs={"rows": 12}),
            "body_html": forms.Textarea(attrs={"rows": 8}),
        }
        help_texts = {
            "subject": _("Merge fields: {{column name}}, e.g. {{氏名}} 様"),
            "body_text": _("Use {{column name}} for a value from the recipient's own row."),
            "kind": _("A newsletter carries a one-click unsubscribe link; unsubscribed addresses are blocked "
                      "from every later campaign."),
            "attachment_delivery": _("With links, each recipient confirms their address before downloading; "
                                     "the links expire and can all be stopped after sending."),
        }

    @classmethod
    def posted_in(cls, data) -> bool:
        """Whether a POST carries this form's fields (the submit button posts them with it)."""
        return any(name in data for name in cls._meta.fields)


class ListUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Recipient list (CSV or Excel .xlsx)"),
        help_text=_("CSV in UTF-8 or Shift_JIS (as Excel saves it), or .xlsx. The first row holds the column names."),
    )


class ColumnsForm(forms.Form):
    address_column = forms.ChoiceField(label=_("Address column"))
    name_column = forms.ChoiceField(label=_("Display-name column"), required=False)

    def __init__(self, *args, columns: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(c, c) for c in columns]
        self.fields["address_column"].choices = choices
        self.fields["name_column"].choices = [("", _("(none)")), *choices]


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Attachment"))


class ApproveForm(forms.Form):
    content_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)
    comment = forms.CharField(label=_("Comment (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    comment = forms.CharField(label=_("What should the drafter change?"), widget=forms.Textarea(attrs={"rows": 3}))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_username()


class CampaignFilterForm(forms.Form):
    """The auditor's filters over every campaign; an invalid field shows its error and is ignored."""

    state = forms.ChoiceField(label=_("State"), required=False)
    date_field = forms.ChoiceField(
        label=_("Date"), required=False, choices=[("created", _("Created")), ("approved", _("Approved"))],
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    drafter = UserChoiceField(label=_("Drafter"), required=False, queryset=None, empty_label=_("All drafters"))
    reviewer = UserChoiceField(label=_("Approved by"), required=False, queryset=None,
                               empty_label=_("All reviewers"))
    domain = forms.CharField(label=_("Recipient domain"), required=False, max_length=253,
                             widget=forms.TextInput(attrs={"placeholder": "example.jp"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All states")), *Campaign.State.choices]
        self.fields["drafter"].queryset = people_who("drafted_campaigns")
        self.fields["reviewer"].queryset = people_who("approved_campaigns")
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select form-select-sm" if select else "form-control form-control-sm"

    def clean_domain(self):
        return self.cleaned_data["domain"].strip().lstrip("@").lower()

    def filters(self) -> CampaignFilters:
        """Every valid field as a filter (an unbound form filters nothing)."""
        if not self.is_bound:
            return CampaignFilters()
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return CampaignFilters(**{name: data[name] for name in CampaignFilters.__dataclass_fields__
                                  if data.get(name)})


class AddressForm(forms.Form):
    """The recipient confirms the address the message was sent to before a download."""

    address = forms.CharField(label=_("Your email address"), max_length=320,
                              widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
