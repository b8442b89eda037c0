from __future__ import annotations

from django import forms

from speechsite.practice.models import Exercise

AUDIO_TYPES = ".wav,.mp3,.flac,.ogg,.oga,.opus,.webm,.m4a,.mp4,.aac,audio/*"


class UploadForm(forms.Form):
    audio = forms.FileField(
        label="Recording", widget=forms.ClearableFileInput(attrs={"accept": AUDIO_TYPES}), allow_empty_file=False
    )
    provider = forms.ChoiceField(label="Processed by")
    expected_text = forms.CharField(
        label="Sentence that was read",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Leave it empty to transcribe the file (or, with ELSA, to score free speech).",
    )
    exercise = forms.ModelChoiceField(queryset=Exercise.objects.filter(active=True), required=False)

    def __init__(self, *args, providers: list[tuple[str, object]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [(name, caps.label) for name, caps in providers]

    def clean(self) -> dict:
        data = super().clean()
        exercise = data.get("exercise")
        if exercise is not None and not data.get("expected_text"):
            data["expected_text"] = exercise.text
        return data
