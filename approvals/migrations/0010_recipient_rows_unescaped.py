# The encoder decides how Python writes the JSON, not the column: nothing to change in the
# database (Django would otherwise copy the whole table on SQLite to "alter" it).

import approvals.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('approvals', '0009_notifications_policy_rules_trial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='recipient',
                    name='data',
                    field=models.JSONField(default=dict, encoder=approvals.models.UnescapedJSONEncoder),
                ),
            ],
        ),
    ]
