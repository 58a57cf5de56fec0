from jpkikit.cli.main import main

raise SystemExit(main())
