"""``vidq ask FILE QUESTION``: an answer with the timestamps it rests on (text, json, html).

Multiple choice, benchmark style: ``--choices "A) 1850" "B) 1887" ...`` (the options
follow the flag as separate words) or a repeated ``--choice "A) 1850"``; the answer is
the option's letter.  Parses options, calls :func:`vidq.tasks.ask.ask` and renders the
result; the answering lives in ``vidq.tasks.ask``.
"""

from __future__ import annotations

from typing import Annotated, Any, TextIO

import typer

from vidq.cli.jobopts import (
    AccuracyOpt,
    ApiBaseOpt,
    AsrEngineOpt,
    AsrModelOpt,
    CompressOpt,
    ContextOpt,
    EndOpt,
    FramesOpt,
    InputFile,
    LanguageOpt,
    ModelOpt,
    QuantOpt,
    RatioOpt,
    RemoteVisionOpt,
    RequestTimeoutOpt,
    RetriesOpt,
    StartOpt,
    SubtitlesOpt,
    TrustRemoteCodeOpt,
    job_options,
)
from vidq.cli.output import dump_json, output_stream, resolve_format, time_fields
from vidq.cli.progress import progress_reporter
from vidq.cli.settings import current_settings
from vidq.errors import ExitCode, InputError
from vidq.timefmt import hms

FORMATS = ("text", "json", "html")


def result_json(result: Any) -> dict[str, Any]:
    """The ``vidq.answer/1`` document."""
    from vidq.tasks.ask import SCHEMA

    return {
        "schema": SCHEMA,
        "file": str(result.file),
        "question": result.question,
        **time_fields(result.start, "start"),
        **time_fields(result.end, "end"),
        "letter": result.letter,
        "answer": result.answer,
        "choices": [{"letter": c.letter, "text": c.text, "score": c.score, "probability": c.probability}
                    for c in result.choices],
        "citations": [{**time_fields(c.start, "start"), **time_fields(c.end, "end"), "text": c.text,
                       "source": c.source, "score": c.score} for c in result.citations],
        "method": result.method,
        "model": result.model,
        "sees_images": result.sees_images,
        "notices": list(result.notices),
        "meta": result.meta,
    }


def render_text(out: TextIO, result: Any) -> None:
    if result.choices:
        out.write(f"{result.letter}) {result.answer}\n" if result.letter else "(no option)\n")
    else:
        out.write((result.answer or "(no answer found)") + "\n")
    for c in result.citations:
        quote = f'  "{c.text}"' if c.text else ""
        out.write(f"  [{hms(c.start)} - {hms(c.end)}] ({c.source}){quote}\n")
    out.writelines(f"Note: {notice}\n" for notice in result.notices)


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask_cmd(
        file: InputFile,
        question: Annotated[str, typer.Argument(metavar="QUESTION", help="The question, quoted.", show_default=False)],
        options_: Annotated[list[str] | None, typer.Argument(metavar="[OPTION]...", help="With --choices: the multiple-choice options, e.g. \"A) 1850\" \"B) 1887\".", show_default=False)] = None,
        choices: Annotated[bool, typer.Option("--choices", help="Multiple choice: the words after the question are the options (\"A) ..\" \"B) ..\"); the answer is a letter.")] = False,
        choice: Annotated[list[str] | None, typer.Option("--choice", help="One multiple-choice option (repeat it: --choice \"A) ..\" --choice \"B) ..\").", show_default=False)] = None,
        model: ModelOpt = "auto",
        frames: FramesOpt = None,
        exact: AccuracyOpt = False,
        compress: CompressOpt = "auto",
        ratio: RatioOpt = None,
        subtitles: SubtitlesOpt = "auto",
        asr_model: AsrModelOpt = "tiny.en",
        asr_engine: AsrEngineOpt = "faster-whisper",
        language: LanguageOpt = None,
        start: StartOpt = None,
        end: EndOpt = None,
        quant: QuantOpt = None,
        trust_remote_code: TrustRemoteCodeOpt = False,
        api_base: ApiBaseOpt = None,
        remote_vision: RemoteVisionOpt = "auto",
        context: ContextOpt = None,
        request_timeout: RequestTimeoutOpt = None,
        retries: RetriesOpt = None,
    ) -> None:
        """Answer a question about a video, citing the times the answer rests on.

        Open questions get a short answer; with --choices (or a repeated --choice) the answer is the letter of the best option, benchmark style.

        With the offline lite backend the answer comes from what is said and written on screen: retrieval, then the option best supported by it. A text-only model on an OpenAI-compatible server reads the same text (all of it when it fits its context) and writes the answer, citing times.

        Exit codes: 0 answered; 3 when the model failed, or when --choices were given and its reply names none of the options (the output still shows '(no option)' and the reply); 2 for bad input.

        Formats: text (default; the first line is the answer), json, html (the answer on a page with a timeline of the cited moments, their frames, and a player that seeks to each).
        """
        from vidq.tasks.ask import ask

        settings = current_settings()
        fmt = resolve_format(settings, FORMATS, "text", "ask")
        extra = list(options_ or [])
        if extra and not choices:
            raise InputError(f"unexpected words after the question: {' '.join(extra)!r} "
                             "(quote the question; put options after --choices)")
        if choices and not extra:
            raise InputError("--choices needs the options after the question, e.g. --choices \"A) red\" \"B) blue\"")
        options = job_options(settings, model=model, frames=frames, exact=exact, compress=compress, ratio=ratio,
                              subtitles=subtitles, asr_model=asr_model, asr_engine=asr_engine, language=language,
                              start=start, end=end, quant=quant, trust_remote_code=trust_remote_code,
                              api_base=api_base, remote_vision=remote_vision, context=context,
                              request_timeout=request_timeout, retries=retries)
        with progress_reporter(settings) as progress:
            result = ask(file, options, question, choices=[*(choice or []), *extra], store=settings.store,
                         progress=progress)
        if fmt == "html":
            from vidq.cli.report_html import write_html

            write_html(settings, ask=result)
            no_option(result)
            return
        with output_stream(settings) as out:
            if fmt == "json":
                dump_json(result_json(result), out)
            else:
                render_text(out, result)
        no_option(result)


def no_option(result: Any) -> None:
    """Multiple choice answered with no option: exit 3 (a model failure), after the output was written."""
    if result.choices and result.letter is None:
        raise typer.Exit(int(ExitCode.RUNTIME))
