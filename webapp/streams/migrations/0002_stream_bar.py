"""`Stream.threshold` becomes `Stream.bar`: the score the server's selector held the latest
segment to (metamodel/selection.py), or null while the selector warms up. Values are kept: for
a stream scored before the highlight budget, its old threshold was exactly that bar."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("streams", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="stream", old_name="threshold", new_name="bar"),
        migrations.AlterField(
            model_name="stream",
            name="bar",
            field=models.FloatField(blank=True, default=None, null=True),
        ),
    ]
