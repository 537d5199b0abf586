from django.urls import path

from .views import auditor, campaign, common, downloads, drafter, findings, notifications, reviewer

urlpatterns = [
    path("", common.home, name="home"),
    # Drafter
    path("campaigns/", drafter.campaign_list, name="campaign_list"),
    path("campaigns/new/", drafter.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/edit/", drafter.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/list/", drafter.list_upload, name="list_upload"),
    path("campaigns/<int:pk>/columns/", drafter.columns_choose, name="columns_choose"),
    path("campaigns/<int:pk>/attachments/", drafter.attachment_add, name="attachment_add"),
    path("campaigns/<int:pk>/attachments/<int:attachment_pk>/remove/", drafter.attachment_remove,
         name="attachment_remove"),
    path("campaigns/<int:pk>/submit/", drafter.campaign_submit, name="campaign_submit"),
    path("campaigns/<int:pk>/cancel/", drafter.campaign_cancel, name="campaign_cancel"),
    path("campaigns/<int:pk>/columns/drop/", drafter.columns_drop, name="columns_drop"),
    path("campaigns/<int:pk>/proof/", drafter.proof_send, name="proof_send"),
    path("campaigns/<int:pk>/copy/", drafter.campaign_copy, name="campaign_copy"),
    path("campaigns/<int:pk>/pause/", campaign.campaign_pause, name="campaign_pause"),
    path("campaigns/<int:pk>/resume/", campaign.campaign_resume, name="campaign_resume"),
    path("campaigns/<int:pk>/in-doubt/", campaign.in_doubt_resolve, name="in_doubt_resolve"),
    path("campaigns/<int:pk>/downloads/stop/", downloads.downloads_stop, name="downloads_stop"),
    # Everyone with access
    path("campaigns/<int:pk>/", campaign.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/progress/", campaign.campaign_progress, name="campaign_progress"),
    path("campaigns/<int:pk>/attachments/<int:attachment_pk>/", campaign.attachment_download,
         name="attachment_download"),
    path("campaigns/<int:pk>/findings/<str:key>/", findings.finding_items, name="finding_items"),
    # Reviewer
    path("review/", reviewer.review_queue, name="review_queue"),
    path("review/<int:pk>/", reviewer.review, name="review"),
    path("review/<int:pk>/preview/<int:recipient_pk>/", reviewer.preview_html, name="preview_html"),
    path("review/<int:pk>/approve/", reviewer.approve, name="approve"),
    path("review/<int:pk>/reject/", reviewer.reject, name="reject"),
    # Auditor
    path("audit/", auditor.campaigns, name="audit_campaigns"),
    path("audit/<int:pk>/", auditor.campaign_audit, name="audit_campaign"),
    path("audit/<int:pk>/deliveries.csv", auditor.deliveries_csv, name="audit_deliveries_csv"),
    path("audit/dashboard/", auditor.dashboard, name="audit_dashboard"),
    path("audit/address/", auditor.address_history, name="audit_address"),
    path("audit/changes/", auditor.account_changes, name="audit_changes"),
    path("audit/<int:pk>/approved/", auditor.approved_version, name="audit_approved_version"),
    path("audit/<int:pk>/incident/", auditor.incident_report, name="audit_incident_report"),
    path("audit/<int:pk>/incident.csv", auditor.incident_report_csv, name="audit_incident_report_csv"),
    path("audit/<int:pk>/incident.json", auditor.incident_report_json, name="audit_incident_report_json"),
    # Notifications: each person's settings; the system-mail ledger for auditors and administrators
    path("account/notifications/", notifications.notification_settings, name="notification_settings"),
    path("audit/system-mail/", notifications.audit_system_mail, name="audit_system_mail"),
]
