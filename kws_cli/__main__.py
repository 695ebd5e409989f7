from kws_cli.main import main

raise SystemExit(main())
