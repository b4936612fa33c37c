from tuyameter.cli.main import main

raise SystemExit(main())
