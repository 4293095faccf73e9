# A retraining no longer chooses a probability threshold: the model ships with a highlight budget.
# An old run's threshold is not a budget, so it is dropped rather than renamed.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('feedback', '0002_training_runs'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='trainingrun',
            name='threshold',
        ),
        migrations.AddField(
            model_name='trainingrun',
            name='per_hour',
            field=models.FloatField(blank=True, null=True),
        ),
    ]
