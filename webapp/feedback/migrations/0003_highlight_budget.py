"""The per-stream sensitivity becomes a highlight budget (highlights per hour), issue 10.

`Sensitivity.threshold` was a probability cut; the server now selects each stream's best moments
at a number of highlights per hour (metamodel/selection.py). An old threshold cannot be mapped to
a budget (how many highlights a cut gives depends on the stream's own scores), so the existing
choices are DROPPED: those streams go back to the model's budget until their owner moves the
slider again. `TrainingRun.threshold` (the retrained model's cut) likewise becomes `per_hour`
(the retrained model's default budget); old runs show none.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0002_training_runs"),
        ("streams", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="Sensitivity"),
        migrations.CreateModel(
            name="HighlightBudget",
            fields=[
                (
                    "stream",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="highlight_budget",
                        serialize=False,
                        to="streams.stream",
                    ),
                ),
                ("per_hour", models.FloatField(validators=[MinValueValidator(0.5), MaxValueValidator(60.0)])),
                ("updated", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.RemoveField(model_name="trainingrun", name="threshold"),
        migrations.AddField(
            model_name="trainingrun",
            name="per_hour",
            field=models.FloatField(blank=True, null=True),
        ),
    ]
