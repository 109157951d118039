"""Speech recognition: offline Vosk transcription of recordings through a durable job queue.

    errors.py      the SttError branch of the error tree
    audio.py       WAV files checked and read as 16-bit mono PCM at the model's rate
    models_dir.py  model folders: layout check, the model of each language (settings)
    install.py     `hotline models install`: folder, archive or URL, checksum, atomic move
    models.py      tables: transcription_job (the queue) and transcript
    queue.py       enqueue, claim under a lease, renew, complete, fail with backoff
    recognizer.py  Vosk in worker processes: transcribe a file, recognise a choice
    service.py     TranscriptionService: the asyncio poll loop owning the process pool
    cli.py         `hotline models …`, `hotline transcribe`, `hotline stt …`
"""
