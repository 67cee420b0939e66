"""TaskFlow decorators (``@task.netapp_*``) built on the operators."""
