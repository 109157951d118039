"""Work orders (工单): life cycle, time limits and lights."""
