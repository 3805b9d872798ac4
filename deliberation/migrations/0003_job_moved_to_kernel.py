"""Job now lives in the kernel (same table); deliberation forgets it once every FK moved."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('deliberation', '0002_audit_event'),
        ('consensus', '0002_job_in_kernel'),
        ('alignment', '0002_job_in_kernel'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Job')],
            database_operations=[],
        ),
    ]
